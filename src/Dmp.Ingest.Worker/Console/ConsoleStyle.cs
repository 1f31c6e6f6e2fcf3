namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>The console's one stylesheet, served from `/console/console.css` (the CSP allows no inline style).</summary>
internal static class ConsoleStyle
{
    /// <summary>The tab icon (a browser asks for one; without it, /favicon.ico answers the API's 401).</summary>
    public const string Icon = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#12355b"/><path d="M4 4h4a4 4 0 0 1 0 8H4z" fill="#fff"/></svg>""";

    public const string Css = """
        :root { font-family: system-ui, sans-serif; color: #1b1b1b; background: #fff; }
        body { margin: 0; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: .5rem; top: .5rem; background: #fff; color: #12355b; padding: .3rem; }
        header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1rem; background: #12355b; color: #fff; flex-wrap: wrap; }
        header a { color: #fff; }
        header .brand { font-weight: 700; }
        header nav { display: flex; gap: 1rem; }
        header form { display: inline; margin: 0; }
        header .spacer { flex: 1; }
        header button { background: #fff; color: #12355b; border: 1px solid #fff; border-radius: 3px; padding: .2rem .6rem; cursor: pointer; }
        main { padding: 1rem; max-width: 1200px; }
        h1 { font-size: 1.5rem; }
        h2 { font-size: 1.2rem; margin-top: 1.5rem; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; border-bottom: 1px solid #ccc; padding: .3rem .5rem; vertical-align: top; }
        th { background: #eef2f7; }
        .status-failed, .status-rejected { color: #a4161a; font-weight: 600; }
        .status-processed { color: #1d6b31; }
        .filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .5rem 1rem; align-items: end; margin-bottom: 1rem; }
        .filters label { display: flex; flex-direction: column; font-size: .9rem; }
        input, select, button { font: inherit; padding: .3rem; }
        .primary { background: #12355b; color: #fff; border: 1px solid #12355b; border-radius: 3px; padding: .35rem .9rem; cursor: pointer; }
        .notice { background: #fff4ce; border: 1px solid #a37a00; padding: .5rem; margin: .5rem 0; }
        .error { background: #fde7e9; border: 1px solid #a4161a; padding: .5rem; margin: .5rem 0; }
        .ok { background: #e5f4e9; border: 1px solid #1d6b31; padding: .5rem; margin: .5rem 0; }
        .segment { margin: .4rem 0 .8rem; }
        .segment h3 { font-family: ui-monospace, monospace; font-size: 1rem; margin: .3rem 0; }
        .segment td.value { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
        tr.failing, .segment.failing h3 { background: #fde7e9; outline: 2px solid #a4161a; }
        pre { background: #f4f4f4; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
        .tiles { display: flex; gap: 1rem; flex-wrap: wrap; }
        .tile { border: 1px solid #ccc; border-radius: 4px; padding: .6rem 1rem; min-width: 10rem; }
        .tile .figure { font-size: 1.6rem; font-weight: 700; }
        tr.silent td { background: #fff4ce; }
        .chart { width: 100%; max-width: 760px; height: auto; }
        dl.header { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dl.header dt { font-weight: 600; }
        dl.header dd { margin: 0; }
        .login { max-width: 36rem; }
        .login input[name=token] { width: 100%; font-family: ui-monospace, monospace; }
        .pager { margin-top: 1rem; }
        .mark { display: inline-block; border: 1px solid #5c3d00; background: #fff4ce; color: #5c3d00; border-radius: 3px; padding: 0 .3rem; margin-right: .3rem; font-size: .85rem; }
        tr.emergency td, .emergency { background: #fde7e9; }
        .rights form { border: 1px solid #ccc; border-radius: 4px; padding: .5rem .8rem; margin: .6rem 0; }
        .narrative-text table { width: auto; }
        object.pdf { width: 100%; height: 70vh; border: 1px solid #ccc; }
        textarea { font: inherit; width: 100%; max-width: 40rem; display: block; }
        form.inline { display: inline; margin: 0; }
        button.link { background: none; border: none; padding: 0; color: #0b4f9c; text-decoration: underline; cursor: pointer; }
        """;
}
