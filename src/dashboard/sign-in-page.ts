/**
 * The dashboard's sign-in page: one form that POSTs the token in the body (never in a URL, so it stays
 * out of history, referrers and access logs). Rendered here rather than served from live-page/, which
 * is behind the sign-in.
 */
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export function signInPage(problem?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>chunkmill — sign in</title>
  <style>
    body { font-family: system-ui, sans-serif; background: #f5f6f8; display: grid; place-items: center; min-height: 90vh; margin: 0; }
    form { background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); width: min(24rem, 90vw); }
    h1 { margin: 0 0 1rem; font-size: 1.3rem; }
    label { display: block; margin-bottom: .4rem; }
    input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; }
    button { margin-top: 1rem; padding: .5rem 1.2rem; font: inherit; }
    .problem { color: #b00020; }
  </style>
</head>
<body>
  <form id="sign-in" method="post" action="/signin" autocomplete="off">
    <h1>chunkmill</h1>
    ${problem ? `<p class="problem" role="alert">${escapeHtml(problem)}</p>` : ''}
    <label for="token">API token</label>
    <input id="token" name="token" type="password" required autofocus>
    <button type="submit">Sign in</button>
  </form>
</body>
</html>
`;
}
