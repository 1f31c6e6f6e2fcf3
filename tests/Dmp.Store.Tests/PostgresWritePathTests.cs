using Dmp.Store.Inbox;
using Dmp.Store.Sql;

namespace Dmp.Store.Tests;

/// <summary>
/// On PostgreSQL the processing outcomes (and dossier applies) commit apart from the inbox writer, so an apply's many round
/// trips never hold back the ACK of a frame arriving meanwhile (issue 22).
/// </summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresWritePathTests(PostgresServer server)
{
    private const string Gam = "mllp/GAM|CHU-X";

    [Fact]
    public async Task Outcomes_commit_while_the_inbox_writer_is_busy_and_frames_commit_while_an_outcome_transaction_is_open()
    {
        await using var t = await TestStore.OpenAsync(await server.CreateDatabaseAsync());
        await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        var claimed = await t.Processing.ClaimAsync(10, CancellationToken.None);
        var writerHeld = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var busy = t.Writer.RunInWriteTransactionAsync(async (_, _) =>
        {
            writerHeld.SetResult();
            await release.Task;
        }, CancellationToken.None);
        await writerHeld.Task;
        try
        {
            var completing = t.Processing.CompleteAsync([new ProcessingResult(claimed[0].Id, InboxStatus.Processed)], CancellationToken.None);

            Assert.Same(completing, await Task.WhenAny(completing, Task.Delay(TimeSpan.FromSeconds(20))));
            Assert.Equal(InboxStatus.Processed, (await completing)[0].Status);
            Assert.False(busy.IsCompleted);
        }
        finally
        {
            release.SetResult();
            await busy;
        }

        // Committed: a resend of the frame finds it processed, and stored once.
        var resent = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        Assert.True(resent.Duplicate);
        Assert.Equal(claimed[0].Id, resent.Id);
        Assert.Equal(InboxStatus.Processed, resent.Status);
    }

    [Theory]
    [InlineData(null, "force_custom_plan")]
    [InlineData("-c plan_cache_mode=auto", "auto")]
    public async Task The_writer_plans_its_prepared_statements_with_their_parameters_unless_the_connection_string_says_otherwise(
        string? options, string expectedMode)
    {
        var connectionString = await server.CreateDatabaseAsync();
        if (options is not null)
        {
            connectionString += $";Options={options}";
        }

        await using var t = await TestStore.OpenAsync(connectionString);
        // Twenty frames: each statement of the frame path runs twenty times prepared — past the five executions after
        // which PostgreSQL's default (auto) may switch a statement to the generic plan it keeps.
        for (var i = 0; i < 20; i++)
        {
            await t.AcceptAsync(Frames.Make(Gam, $"P{i}", Frames.Hl7($"P{i}")));
        }

        long generic = -1, custom = -1;
        string? mode = null;
        await t.Writer.RunInWriteTransactionAsync(async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText =
                "SELECT COALESCE(SUM(generic_plans), 0), COALESCE(SUM(custom_plans), 0), current_setting('plan_cache_mode') FROM pg_prepared_statements WHERE statement LIKE '%FROM inbound_message%';";
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            (generic, custom, mode) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2));
        }, CancellationToken.None);

        // The writer's session has the mode the connection string asks for, else plans each execution with its values.
        Assert.Equal(expectedMode, mode);
        // The frames' look-up statement (one per group: here one frame each) ran twenty times, prepared once Npgsql had
        // seen it a few times.
        Assert.InRange(generic + custom, 10, 40);
        if (options is null)
        {
            Assert.Equal(0, generic);
        }
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0", true)]
    [InlineData("Host=db;maxautoprepare=20", true)]
    [InlineData("Host=db;Maximum Pool Size=20", false)]
    public void The_automatic_prepare_default_gives_way_to_a_connection_string_that_sets_its_own(string connectionString, bool names) =>
        Assert.Equal(names, PostgresDialect.Names(connectionString, "maxautoprepare"));
}
