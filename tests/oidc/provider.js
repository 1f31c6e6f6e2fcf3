// A real OpenID Connect provider (the oidc-provider package) for the console's sign-in tests, on loopback only.
//
//   node provider.js --accounts FILE [--port 0] [--host 127.0.0.1] [--client-id dmp-console] [--client-secret S]
//                    [--redirect-uri URI --post-logout-uri URI]
//
// It listens on 127.0.0.1:PORT (0: any free port) and prints `port N` on stdout. The issuer is http://HOST:PORT:
// the tests name it `localhost` so that the provider is another site than a gateway on 127.0.0.1, as a real
// provider is (the cookies' SameSite rules then apply as they would in production).
// The client's redirect URIs come from argv, or, when --redirect-uri is absent, from one JSON line on stdin
// ({"redirectUri": "...", "postLogoutRedirectUri": "..."}): the gateway's port is known only once it has started,
// and the gateway needs the issuer first. `ready ISSUER` on stdout says the provider serves; then one line
// `authorize {json}` per authorization request it accepts (client, response type and mode, PKCE method, pushed or not).
// Accounts: a JSON array of objects, each with `sub` and the claims to give (role, ins, rpps, org or any other
// name); the scope `dmp` grants every claim name they use, from the userinfo endpoint. Its own development
// login form (any password) and consent page are the interactions: a test fills them in a browser.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import Provider from 'oidc-provider';

function args() {
  const out = { port: '0', host: '127.0.0.1', 'client-id': 'dmp-console' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    const name = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
      process.stderr.write(`provider.js: unexpected argument ${argv[i]}\n`);
      process.exit(2);
    }
    out[name] = argv[i + 1];
    i += 1;
  }
  if (!out.accounts) {
    process.stderr.write('provider.js: --accounts FILE is required\n');
    process.exit(2);
  }
  return out;
}

function readRedirects(options) {
  if (options['redirect-uri']) {
    return Promise.resolve({ redirectUri: options['redirect-uri'], postLogoutRedirectUri: options['post-logout-uri'] });
  }
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    const closed = () => reject(new Error('stdin closed before the redirect URIs'));
    lines.once('close', closed);
    lines.once('line', (line) => {
      lines.off('close', closed);
      lines.close();
      try {
        resolve(JSON.parse(line));
      } catch (error) {
        reject(error);
      }
    });
  });
}

const options = args();
const accounts = new Map(JSON.parse(readFileSync(options.accounts, 'utf8')).map((a) => [a.sub, a]));
const claimNames = [...new Set([...accounts.values()].flatMap((a) => Object.keys(a)).filter((k) => k !== 'sub'))];

let handle = (req, res) => {
  res.statusCode = 503;
  res.end('not ready');
};
const server = createServer((req, res) => handle(req, res));
server.listen(Number(options.port), '127.0.0.1', async () => {
  const { port } = server.address();
  process.stdout.write(`port ${port}\n`);
  try {
    const redirects = await readRedirects(options);
    const issuer = `http://${options.host}:${port}`;
    const secret = options['client-secret'];
    const provider = new Provider(issuer, {
      clients: [{
        client_id: options['client-id'],
        ...(secret ? { client_secret: secret, token_endpoint_auth_method: 'client_secret_post' } : { token_endpoint_auth_method: 'none' }),
        redirect_uris: [redirects.redirectUri],
        post_logout_redirect_uris: redirects.postLogoutRedirectUri ? [redirects.postLogoutRedirectUri] : [],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }],
      // Every client, public or confidential, must send a code challenge: an authorize request without one fails.
      pkce: { required: () => true },
      scopes: ['openid', 'dmp'],
      claims: { openid: ['sub'], dmp: claimNames },
      cookies: { keys: [randomBytes(32).toString('hex')] },
      findAccount: (_ctx, sub) => {
        const account = accounts.get(sub);
        if (!account) return undefined;
        return { accountId: sub, claims: () => ({ ...account }) };
      },
      features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    });
    // What each accepted authorization request asked for, as the provider read it (pushed or not): a test checks PKCE
    // here, since a client that pushes its request (PAR) never shows the browser its code challenge.
    provider.on('authorization.accepted', (ctx) => {
      const p = ctx.oidc.params;
      process.stdout.write(`authorize ${JSON.stringify({
        client_id: p.client_id,
        response_type: p.response_type,
        response_mode: p.response_mode,
        code_challenge_method: p.code_challenge_method,
        code_challenge_length: p.code_challenge ? p.code_challenge.length : 0,
        nonce: Boolean(p.nonce),
        state: Boolean(p.state),
        pushed: Boolean(ctx.oidc.entities.PushedAuthorizationRequest?.jti || ctx.oidc.entities.Interaction?.parJti),
      })}\n`);
    });
    handle = provider.callback();
    process.stdout.write(`ready ${issuer}\n`);
  } catch (error) {
    process.stderr.write(`provider.js: ${error.message}\n`);
    process.exit(1);
  }
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
