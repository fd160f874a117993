/// The report's stylesheet, inline so the page needs no other file. Fonts are
/// the reader's own (a web font would be a fetch); figures use tabular digits
/// so columns line up; print drops the navigation and keeps each chart and
/// table row on one page.
extension HTMLReport {
    static let style = """
        :root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --panel: #f6f8fb;
          --ok: #009E73; --bad: #D55E00; --pending: #b8c0cc; --accent: #0072B2; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #fff; color: var(--fg);
          font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
        main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
        h1 { font-size: 26px; margin: 0 0 6px; overflow-wrap: anywhere; }
        h2 { font-size: 20px; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
        h3 { font-size: 16px; margin: 22px 0 8px; }
        code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.9em;
          overflow-wrap: anywhere; }
        a { color: var(--accent); }
        .meta, .note, footer { color: var(--muted); }
        .note { margin: 4px 0 12px; }
        nav { display: flex; flex-wrap: wrap; gap: 4px 16px; margin-top: 10px; font-size: 14px; }
        .state { display: inline-block; vertical-align: middle; font-size: 13px; font-weight: 600; padding: 2px 10px;
          border-radius: 12px; background: #e8edf4; color: var(--fg); text-transform: uppercase; letter-spacing: 0.04em; }
        .state-finished { background: #dff3ec; color: #00583f; }
        .state-running { background: #dcebf7; color: #004b75; }
        .state-stopped, .state-cancelled { background: #fbe9dd; color: #7a3300; }
        .progress { display: flex; height: 14px; border-radius: 7px; overflow: hidden; background: var(--pending); margin: 6px 0 4px; }
        .progress span { display: block; height: 100%; }
        .progress .succeeded { background: var(--ok); }
        .progress .failed { background: var(--bad); }
        .progress .pending { background: var(--pending); }
        .progress-caption { margin: 0 0 14px; font-size: 14px; }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 14px; }
        .card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
        .card h3 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); margin: 0 0 8px; }
        .card dl { display: grid; grid-template-columns: auto 1fr; gap: 3px 12px; margin: 0; }
        .card dt { color: var(--muted); }
        .card dd { margin: 0; text-align: right; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
        @media (min-width: 700px) { .card.wide { grid-column: span 2; } }
        table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 14px; }
        th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
        thead th { border-bottom: 2px solid #b9c1cd; font-size: 13px; color: var(--muted); font-weight: 600; }
        tfoot th, tfoot td { border-top: 2px solid #b9c1cd; font-weight: 600; }
        tbody tr:nth-child(even) { background: #fafbfd; }
        .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.id { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px;
          overflow-wrap: anywhere; max-width: 280px; }
        td.message { overflow-wrap: anywhere; white-space: pre-wrap; max-width: 520px; }
        svg.chart { display: block; width: 100%; height: auto; margin: 10px 0 18px; font-size: 11px; overflow: visible; }
        svg text { fill: #3a4252; }
        svg .chart-title { font-size: 15px; font-weight: 600; fill: var(--fg); }
        svg .legend text { font-size: 12px; }
        svg .axis-title { font-size: 12px; fill: var(--muted); }
        svg .grid { stroke: #e6e9ef; }
        svg .axis, svg .tick { stroke: #8a93a3; }
        svg .series { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
        svg .gap rect { fill: #eceff4; }
        svg .gap text { font-size: 10px; fill: #6b7385; }
        svg .hover { fill: transparent; }
        svg .hover:hover { fill: rgba(0, 0, 0, 0.05); }
        svg .bar:hover { opacity: 0.8; }
        svg .bin { fill: #56B4E9; stroke: #0072B2; stroke-width: 0.5; }
        svg .marker line { stroke: #D55E00; stroke-width: 1.5; stroke-dasharray: 4 3; }
        svg .marker text { fill: #8a3a00; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
        svg .bar-row text { font-size: 12px; }
        svg .bar-row .note { font-size: 11px; fill: var(--muted); }
        svg .empty { font-size: 14px; fill: var(--muted); }
        footer { margin-top: 40px; padding-top: 10px; border-top: 1px solid var(--line); font-size: 13px; }
        @page { margin: 14mm; }
        @media print {
          main { max-width: none; padding: 0; }
          nav { display: none; }
          h2 { break-after: avoid; }
          svg.chart, .card, tr { break-inside: avoid; }
          tbody tr:nth-child(even) { background: none; }
          a { color: inherit; text-decoration: none; }
        }
        """
}
