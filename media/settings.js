// Settings panel script: mirrors the extension's values into the controls, sends the user's
// changes back, and draws the acceptance/speedup chart on a canvas with theme colours.
// @ts-check
(function () {
    // eslint-disable-next-line no-undef
    const vscode = acquireVsCodeApi();
    /** @type {HTMLElement[]} */
    const controls = Array.from(document.querySelectorAll("[data-key]"));
    /** The control the user is working on; incoming values must not yank it back mid-drag. */
    let editing = null;
    /** @type {{at:number, acceptance:number, speedup:number|null, tokensPerSecond:number}[]} */
    let points = [];

    function showValue(key, value) {
        const readout = document.getElementById(key + "Value");
        if (readout) readout.textContent = key === "skipRatio" ? Math.round(Number(value) * 100) + "% of layers" : Number(value).toFixed(2);
    }

    for (const control of controls) {
        const key = control.dataset.key;
        const send = () => vscode.postMessage({ type: "change", key, value: control.type === "number" || control.type === "range" ? Number(control.value) : control.value });
        control.addEventListener("focus", () => (editing = control));
        control.addEventListener("blur", () => (editing = null));
        if (control.type === "range") {
            control.addEventListener("input", () => showValue(key, control.value));
            control.addEventListener("change", send);
        } else {
            control.addEventListener("change", send);
        }
    }

    function applySettings(values) {
        for (const control of controls) {
            const key = control.dataset.key;
            if (!(key in values)) continue;
            // While the user drags or types, their value wins; the echo from the settings will match it.
            if (control !== editing || control.type !== "range") control.value = String(values[key]);
            showValue(key, values[key]);
        }
    }

    function color(name, fallback) {
        const value = getComputedStyle(document.body).getPropertyValue(name).trim();
        return value || fallback;
    }

    function drawChart() {
        const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById("chart"));
        const ctx = canvas.getContext("2d");
        if (!ctx) return;
        const ratio = window.devicePixelRatio || 1;
        const cssWidth = canvas.clientWidth || 640;
        const cssHeight = Math.round(cssWidth * 0.34);
        canvas.width = Math.round(cssWidth * ratio);
        canvas.height = Math.round(cssHeight * ratio);
        ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
        ctx.clearRect(0, 0, cssWidth, cssHeight);

        const pad = { left: 40, right: 44, top: 10, bottom: 22 };
        const w = cssWidth - pad.left - pad.right;
        const h = cssHeight - pad.top - pad.bottom;
        const fg = color("--vscode-descriptionForeground", "#888");
        const grid = color("--vscode-editorWidget-border", "#8884");
        // Same colours as the legend's swatches (settings.css), with the same high-contrast fallbacks.
        const accColor = color("--vscode-charts-blue", color("--vscode-focusBorder", "#3794ff"));
        const spColor = color("--vscode-charts-orange", color("--vscode-editorWarning-foreground", "#d18616"));
        const maxSpeedup = Math.max(2, ...points.map((p) => p.speedup ?? 0));

        ctx.font = "11px " + color("--vscode-font-family", "sans-serif");
        ctx.fillStyle = fg;
        ctx.strokeStyle = grid;
        ctx.lineWidth = 1;
        for (let i = 0; i <= 4; i++) {
            const y = pad.top + (h * i) / 4;
            ctx.beginPath();
            ctx.moveTo(pad.left, y);
            ctx.lineTo(pad.left + w, y);
            ctx.stroke();
            ctx.textAlign = "right";
            ctx.fillText(100 - i * 25 + "%", pad.left - 6, y + 4);
            ctx.textAlign = "left";
            ctx.fillText((maxSpeedup * (1 - i / 4)).toFixed(1) + "×", pad.left + w + 6, y + 4);
        }
        if (points.length === 0) return;

        const x = (i) => pad.left + (points.length === 1 ? w : (w * i) / (points.length - 1));
        const line = (values, max, stroke, dashed) => {
            ctx.strokeStyle = stroke;
            ctx.lineWidth = 2;
            ctx.setLineDash(dashed ? [5, 3] : []);
            ctx.beginPath();
            let started = false;
            values.forEach((v, i) => {
                if (v === null) return (started = false);
                const y = pad.top + h * (1 - Math.min(1, v / max));
                if (started) ctx.lineTo(x(i), y);
                else ctx.moveTo(x(i), y);
                started = true;
            });
            ctx.stroke();
            ctx.setLineDash([]);
        };
        line(points.map((p) => p.acceptance), 1, accColor, false);
        line(points.map((p) => p.speedup), maxSpeedup, spColor, true);

        const last = points[points.length - 1];
        document.getElementById("chartSummary").textContent =
            "Latest: acceptance " + Math.round(last.acceptance * 100) + "%, speedup " +
            (last.speedup === null ? "not measured yet" : last.speedup.toFixed(2) + "×") + ", " + last.tokensPerSecond.toFixed(1) + " tokens/s";
    }

    window.addEventListener("message", (event) => {
        const message = event.data;
        if (message.type === "settings") applySettings(message.values);
        else if (message.type === "stats") {
            points = message.points;
            drawChart();
        } else if (message.type === "status") document.getElementById("status").textContent = message.text.replace(/\$\([^)]*\)\s*/g, "");
    });
    window.addEventListener("resize", drawChart);
    // Theme switches change the CSS variables; redraw so the chart follows.
    new MutationObserver(drawChart).observe(document.body, { attributes: true, attributeFilter: ["class"] });

    drawChart();
    vscode.postMessage({ type: "ready" });
})();
