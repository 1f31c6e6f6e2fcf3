using System.CommandLine;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Hosting;
using Microsoft.Extensions.Configuration;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>`token`: print a development token signed with the key `serve` uses.</summary>
public static class TokenVerb
{
    public static Command Create(CliContext context)
    {
        var role = new Option<string>("--role") { Description = "patient, professional or operator", Required = true };
        role.AcceptOnlyFromAmong(DmpClaims.Patient, DmpClaims.Professional, DmpClaims.Operator);
        var ins = new Option<string?>("--ins") { Description = "the patient's INS (15 characters, as in PID-3.1)" };
        var rpps = new Option<string?>("--rpps") { Description = "the professional's RPPS number (11 digits)" };
        var org = new Option<string?>("--org") { Description = "the professional's organisation (structure id)" };
        var minutes = new Option<int>("--minutes") { Description = "lifetime in minutes", DefaultValueFactory = _ => 60 };
        var command = new Command("token", "Print a development token (HS256, the key of Dmp:Auth:SigningKey or <DataDir>/dev-signing.key)")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.Add(role);
        command.Add(ins);
        command.Add(rpps);
        command.Add(org);
        command.Add(minutes);
        command.SetAction(result =>
        {
            if (!ConfigurationOverrides.TryCollect(result.UnmatchedTokens, out var overrides, out var usage))
                return Fail(context, usage!);
            var r = result.GetValue(role)!;
            var i = result.GetValue(ins);
            var p = result.GetValue(rpps);
            var o = result.GetValue(org);
            var m = result.GetValue(minutes);
            // The gateway's own claim rules (DmpClaims): a token this verb prints is one the gateway accepts.
            if (r == DmpClaims.Patient && !DmpClaims.IsIns(i))
                return Fail(context, "--role patient needs --ins with the 15-character INS");
            if (r == DmpClaims.Professional && !DmpClaims.IsRpps(p))
                return Fail(context, "--role professional needs --rpps with the 11-digit RPPS number");

            var configuration = GatewayConfiguration.Build(overrides);
            var auth = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
            var validation = new AuthOptionsValidator().Validate(null, auth);
            if (validation.Failed)
                return Fail(context, validation.FailureMessage);
            var maxMinutes = (int)Math.Min(auth.MaxTokenLifetime.TotalMinutes, int.MaxValue);
            if (m < 1 || m > maxMinutes)
                return Fail(context, $"--minutes must be from 1 to {maxMinutes} (Dmp:Auth:MaxTokenLifetime)");
            if (!string.IsNullOrEmpty(auth.Authority))
                context.Stderr.WriteLine("warning: Dmp:Auth:Authority is set: the gateway will not accept development tokens");
            var gateway = configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
            var (key, _) = DevSigningKey.Resolve(auth, gateway.DataDirFullPath);
            var token = TokenIssuer.Issue(key, auth.Audience, r, r == DmpClaims.Patient ? i : null, r == DmpClaims.Professional ? p : null, r == DmpClaims.Professional ? o : null, TimeSpan.FromMinutes(m));
            context.Stdout.WriteLine(token);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static int Fail(CliContext context, string message)
    {
        context.Stderr.WriteLine($"error: {message}");
        return ExitCodes.Usage;
    }
}
