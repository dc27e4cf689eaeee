// lab.js drives JupyterLab in Chromium (playwright-core, Debian's Chromium, no download) as a person would,
// and prints what it saw as one JSON line; lreg/notebook/lab/browser_test.go starts JupyterLab and checks the figures.
//
//   node lab.js run      URL NOTEBOOK SHOTDIR   open NOTEBOOK, Run > Run All Cells, wait for the kernel; observe;
//                                               then type a new weight decay into the settings cell, Run > Run
//                                               Selected Cell and All Below; observe; File > Save
//   node lab.js reopen   URL NOTEBOOK SHOTDIR   open a saved, executed NOTEBOOK without running it; observe
//   node lab.js runall   URL NB1,NB2,... SHOTDIR  open each notebook in turn, Run > Run All Cells, wait; observe
//                                               (and time) each
//
// URL is JupyterLab's with its token (http://127.0.0.1:PORT/lab?token=T); the browser reaches nothing else.
// $LREG_CHROMIUM is the browser binary.
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');

const [mode, url, notebook, shotDir] = process.argv.slice(2);
const origin = new URL(url).origin;
const token = new URL(url).searchParams.get('token');
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a);

// What a person sees in the open notebook: errors, charts (and the SVG paths in each), static pictures,
// progress bars, the Computed/Reused sentence.
function observe() {
  // Only the notebook in front (JupyterLab may restore other tabs).
  const root = window.jupyterapp.shell.currentWidget.node;
  const outs = [...root.querySelectorAll('.jp-OutputArea-output')];
  const stderr = outs.filter((o) => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr');
  const errors = [...root.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')];
  const charts = [...root.querySelectorAll('.jp-OutputArea-output .lreg-chart')].map((c) => ({
    title: c.getAttribute('title'),
    paths: c.querySelectorAll('svg path').length,
    width: c.getBoundingClientRect().width,
    overlaps: overlaps(c),
  }));
  const pictures = [...root.querySelectorAll('.jp-OutputArea-output img')].map((img) => ({
    alt: img.getAttribute('alt') || '',
    svg: (img.getAttribute('src') || '').startsWith('data:image/svg+xml'),
    naturalWidth: img.naturalWidth,
    shown: img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0,
  }));
  const reuse = [...root.querySelectorAll('.jp-RenderedMarkdown')].map((m) => m.innerText)
    .filter((t) => /^(Computed|Reused|LOs:) /.test(t.trim()));
  const bars = [...root.querySelectorAll('.lreg-progress')].map((b) => b.innerText);
  const prompts = [...root.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map((p) => p.innerText.trim());
  // JupyterLab's toasts (its news prompt among them) and the notifications kept in its status bar.
  const toasts = [...document.querySelectorAll('.Toastify__toast')].map((t) => t.innerText.slice(0, 300));
  return {
    toasts,
    stderr: stderr.map((o) => o.innerText.slice(0, 2000)),
    errors: errors.map((o) => o.innerText.slice(0, 2000)),
    charts, pictures, reuse, bars, prompts,
    trusted: codeCellsTrusted(),
  };
  // The pairs of a chart's texts (title, legend, axis names and labels) whose boxes overlap by more than a
  // pixel each way, as "A / B" (the same measure as bin/lreg check-html's).
  function overlaps(chart) {
    const boxes = [...chart.querySelectorAll('svg text')].map((t) => ({ s: (t.textContent || '').trim(), r: t.getBoundingClientRect() }))
      .filter((b) => b.s && b.r.width > 0 && b.r.height > 0);
    const out = [];
    for (let a = 0; a < boxes.length; a++) {
      for (let b = a + 1; b < boxes.length; b++) {
        const p = boxes[a].r, q = boxes[b].r;
        if (Math.min(p.right, q.right) - Math.max(p.left, q.left) > 1 && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 1) {
          out.push(`${boxes[a].s} / ${boxes[b].s}`);
        }
      }
    }
    return out;
  }
  function codeCellsTrusted() {
    const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!nb || !nb.content) return null;
    const cells = nb.content.model.cells, out = [];
    for (let i = 0; i < cells.length; i++) if (cells.get(i).type === 'code') out.push(!!cells.get(i).trusted);
    return out;
  }
}

// The kernel is done when no code cell waits or runs ([*]), every one from `from` on has run since `counts`,
// and the kernel is idle.
async function waitDone(page, counts, from, timeoutMs) {
  await page.waitForFunction(([counts, from]) => {
    const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!nb || !nb.content || !nb.sessionContext || !nb.sessionContext.session) return false;
    if (nb.sessionContext.session.kernel.status !== 'idle') return false;
    const cells = nb.content.model.cells;
    for (let i = 0; i < cells.length; i++) {
      const c = cells.get(i);
      if (c.type !== 'code') continue;
      if (i >= from && (c.executionCount === null || c.executionCount <= (counts[i] || 0))) return false;
    }
    return ![...nb.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some((p) => p.innerText.includes('*'));
  }, [counts, from], { timeout: timeoutMs, polling: 500 });
}

async function counts(page) {
  return page.evaluate(() => {
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    const out = [];
    for (let i = 0; i < cells.length; i++) out.push(cells.get(i).executionCount || 0);
    return out;
  });
}

// opened waits until the notebook in front shows its cells and its kernel is connected.
async function opened(page) {
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 120000 });
  await page.waitForFunction(() => {
    const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    // GoNB reports no status until it first runs a cell ("unknown"): wait for its connection and its info.
    const k = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;
    return k && k.connectionStatus === 'connected' && !!k.info;
  }, null, { timeout: 120000, polling: 500 });
  log('notebook open, kernel connected');
}

async function menu(page, top, item) {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: new RegExp(`^${top}$`) }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: new RegExp(`^${item}$`) }).first().click();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.LREG_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const result = { mode };
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1600 } });
    // Offline: only JupyterLab on the loopback answers.
    await context.route('**/*', (route) => (route.request().url().startsWith(origin) || route.request().url().startsWith('data:')
      ? route.continue() : route.abort()));
    const page = await context.newPage();
    const consoleErrors = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text().slice(0, 300)); });
    if (mode === 'runall') {
      result.notebooks = [];
      let first = true;
      for (const nb of notebook.split(',')) {
        if (first) {
          await page.goto(`${origin}/lab/tree/${encodeURIComponent(nb)}?token=${token}`);
        } else {
          // One notebook in front at a time: close the others, then open this one.
          await page.evaluate(() => window.jupyterapp.commands.execute('application:close-all'));
          await page.waitForFunction(() => ![...window.jupyterapp.shell.widgets('main')].some((w) => w.context), null, { timeout: 30000 });
          await page.evaluate((p) => window.jupyterapp.commands.execute('docmanager:open', { path: p }), nb);
        }
        first = false;
        await page.waitForFunction((p) => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          return w && w.context && w.context.path === p;
        }, nb, { timeout: 120000, polling: 500 });
        await opened(page);
        const t0 = Date.now();
        await menu(page, 'Run', 'Run All Cells');
        await waitDone(page, [], 0, 300000);
        const seconds = (Date.now() - t0) / 1000;
        log(`${nb}: ran all cells in ${seconds} s`);
        const observed = await page.evaluate(observe);
        await page.screenshot({ path: path.join(shotDir, `jupyterlab-run-all-${nb.replace(/\.ipynb$/, '')}.png`) });
        result.notebooks.push({ name: nb, seconds, observed });
        await menu(page, 'File', 'Save Notebook');
        await page.waitForFunction(() => !window.jupyterapp.shell.currentWidget.context.model.dirty, null, { timeout: 30000 });
      }
      result.consoleErrors = consoleErrors;
      process.stdout.write(JSON.stringify(result) + '\n'); // the code after the browser closes is not reached
      return;
    }
    await page.goto(`${origin}/lab/tree/${encodeURIComponent(notebook)}?token=${token}`);
    await opened(page);
    if (mode === 'reopen') {
      await page.waitForTimeout(2000); // images decode
      result.reopened = await page.evaluate(observe);
      const picture = page.locator('.jp-OutputArea-output img');
      if (await picture.count() > 0) await picture.first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(shotDir, 'jupyterlab-reopened-untrusted.png') });
    } else {
      // Run > Run All Cells, as a person would.
      const t0 = Date.now();
      await menu(page, 'Run', 'Run All Cells');
      await waitDone(page, [], 0, 900000);
      result.runAllSeconds = (Date.now() - t0) / 1000;
      log(`ran all cells in ${result.runAllSeconds} s`);
      result.first = await page.evaluate(observe);
      await page.locator('.lreg-chart').first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(shotDir, 'jupyterlab-5-early-evidence.png') });

      // Type a new weight decay into the settings cell and run it and the cells below.
      const line = page.locator('.cm-line', { hasText: "// cfg.WeightDecay = 0.1 // SGD-L2's weight decay" });
      await line.click();
      await page.keyboard.press('End');
      await page.keyboard.press('Shift+Home');
      await page.keyboard.press('Shift+Home'); // past the indentation too (CodeMirror's first Home stops at it)
      await page.keyboard.type('\tcfg.WeightDecay = 0.3 // SGD-L2\'s weight decay, changed in the browser');
      const before = await counts(page);
      const settings = await page.evaluate(() => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        return nb.activeCellIndex;
      });
      result.editedCell = settings;
      result.editedSource = await page.evaluate(() => window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.getSource());
      const t1 = Date.now();
      await menu(page, 'Run', 'Run Selected Cell and All Below');
      await waitDone(page, before, settings, 900000);
      result.rerunSeconds = (Date.now() - t1) / 1000;
      log(`re-ran the cells below in ${result.rerunSeconds} s`);
      result.second = await page.evaluate(observe);
      const reuse = page.locator('.jp-RenderedMarkdown', { hasText: /^(Computed|Reused) / }).first();
      await reuse.scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(shotDir, 'jupyterlab-5-early-evidence-edited.png') });
      await menu(page, 'File', 'Save Notebook');
      await page.waitForFunction(() => !window.jupyterapp.shell.currentWidget.context.model.dirty, null, { timeout: 30000 });
      log('saved');
    }
    result.consoleErrors = consoleErrors;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
