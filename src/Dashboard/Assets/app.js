// MobileNet.Orleans dashboard: a small page over the silo's JSON endpoints (/dashboard/api/...), polled while the
// tab is visible. Everything it loads comes from this server; DOM built with createElement (no inline HTML/CSS).
'use strict';

(() => {
  const api = '/dashboard/api';
  let timer = null;
  let refreshMs = 2000;

  function h(tag, attrs, ...children) {
    const el = tag === 'svg' || attrs?.svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false || k === 'svg') continue;
      if (k === 'style') Object.assign(el.style, v);
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  const s = (tag, attrs, ...children) => h(tag, { ...(attrs || {}), svg: true }, ...children);

  const nf = new Intl.NumberFormat('en-US');
  const num = v => (v === null || v === undefined ? '–' : nf.format(v));
  const fixed = (v, d = 1) => (v === null || v === undefined || !isFinite(v) ? '–' : Number(v).toFixed(d));
  const pct = v => (v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%');
  const money = v => (v === null || v === undefined ? '–' : Number(v).toFixed(Number(v) < 1 ? 4 : 2));
  const bytes = v => {
    if (v === null || v === undefined) return '–';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0; let x = v;
    while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
    return x.toFixed(i === 0 ? 0 : 1) + ' ' + units[i];
  };
  const duration = sec => {
    if (sec === null || sec === undefined || !isFinite(sec)) return '–';
    sec = Math.round(sec);
    const d = Math.floor(sec / 86400), hh = Math.floor(sec % 86400 / 3600), m = Math.floor(sec % 3600 / 60), ss = sec % 60;
    if (d) return `${d}d ${hh}h`;
    if (hh) return `${hh}h ${m}m`;
    if (m) return `${m}m ${ss}s`;
    return `${ss}s`;
  };
  const bar = (fraction, big) => h('div', { class: big ? 'bar big' : 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round((fraction || 0) * 100) },
    h('span', { style: { width: `${Math.max(0, Math.min(1, fraction || 0)) * 100}%` } }));
  const state = st => h('span', { class: `state ${st}` }, st);
  const tile = (name, value, id) => h('div', { class: 'tile', id }, h('div', { class: 'value' }, value), h('div', { class: 'name' }, name));

  async function getJson(path) {
    const response = await fetch(api + path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (response.status === 401) {
      location.href = '/dashboard/login?returnUrl=' + encodeURIComponent('/dashboard/' + location.hash);
      throw new Error('signed out');
    }
    if (!response.ok) {
      let reason = response.statusText;
      try { reason = (await response.json()).error || reason; } catch { /* not JSON */ }
      const error = new Error(reason); error.status = response.status; throw error;
    }
    return response.json();
  }

  function jobsView(data) {
    const rows = data.jobs.map(j => h('tr', { 'data-job-row': j.jobId },
      h('td', null, h('a', { href: `#/jobs/${encodeURIComponent(j.jobId)}` }, j.jobId)),
      h('td', null, state(j.state)),
      h('td', null, j.model),
      h('td', null, bar(j.progress), h('span', { class: 'muted' }, j.progress === null ? 'listing…' : pct(j.progress))),
      h('td', { class: 'num' }, `${num(j.labeled + j.errors)} / ${j.listingComplete ? num(j.totalImages) : num(j.totalImages) + '+'}`),
      h('td', { class: 'num' }, num(j.errors)),
      h('td', { class: 'num' }, fixed(j.imagesPerSecond)),
      h('td', { class: 'num' }, duration(j.etaSeconds)),
      h('td', { class: 'num' }, duration(j.ageSeconds))));
    return h('div', null,
      h('h1', null, 'Jobs'),
      h('div', { class: 'card' }, rows.length === 0 ? h('p', { class: 'muted' }, 'No jobs yet: submit one with mobilenet submit.') :
        h('table', { id: 'jobs' },
          h('thead', null, h('tr', null, ['Job', 'State', 'Model', 'Progress', 'Processed', 'Errors', 'Images/s', 'ETA', 'Age'].map((t, i) => h('th', { class: i >= 4 ? 'num' : null }, t)))),
          h('tbody', null, rows))));
  }

  function rateChart(history) {
    const width = 640, height = 180, left = 44, bottom = 22, top = 10, right = 8;
    const points = [];
    for (let i = 1; i < history.length; i++) {
      const dt = (history[i].t - history[i - 1].t) / 1000;
      if (dt > 0) points.push({ t: history[i].t, rate: Math.max(0, (history[i].processed - history[i - 1].processed) / dt) });
    }
    const svg = s('svg', { class: 'chart', id: 'rate-chart', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'images per second over time' });
    svg.append(s('line', { class: 'axis', x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
    svg.append(s('line', { class: 'axis', x1: left, y1: top, x2: left, y2: height - bottom }));
    if (points.length < 2) {
      svg.append(s('text', { x: left + 10, y: height / 2 }, 'collecting samples…'));
      return svg;
    }
    const t0 = points[0].t, t1 = points[points.length - 1].t;
    const max = Math.max(...points.map(p => p.rate)) * 1.1 || 1;
    const x = t => left + (t - t0) / Math.max(1, t1 - t0) * (width - left - right);
    const y = r => height - bottom - r / max * (height - bottom - top);
    const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ');
    svg.append(s('path', { class: 'area', d: `${line} L${x(t1).toFixed(1)},${height - bottom} L${x(t0).toFixed(1)},${height - bottom} Z` }));
    svg.append(s('path', { class: 'line', d: line }));
    svg.append(s('text', { x: 4, y: top + 10 }, fixed(max, 0)));
    svg.append(s('text', { x: 4, y: height - bottom }, '0'));
    svg.append(s('text', { x: left, y: height - 6 }, `−${duration((t1 - t0) / 1000)}`));
    svg.append(s('text', { x: width - right - 30, y: height - 6 }, 'now'));
    return svg;
  }

  function jobView(j) {
    const processed = j.processed;
    const e = j.efficiency;
    const shards = j.shards;
    const total = Math.max(1, shards.total);
    const shardPart = (name, n) => h('span', { class: name, style: { width: `${n / total * 100}%` }, title: `${name}: ${n}` });
    const tiles = [
      tile('processed', `${num(processed)} / ${num(j.totalImages)}${j.listingComplete ? '' : '+'}`, 'processed'),
      tile('labeled', num(j.labeled)),
      tile('errors', num(j.errors), 'errors'),
      tile('images/s', fixed(j.imagesPerSecond), 'rate'),
      tile('ETA', j.state === 'Running' || j.state === 'Pending' ? duration(j.etaSeconds) : '–', 'eta'),
      tile('CPU-s / 1,000 images', fixed(e.cpuSecondsPer1000Images), 'cpu-per-1000'),
      tile('images/s per core', fixed(e.imagesPerSecondPerCore, 2), 'per-core'),
    ];
    if (e.nodePricePerHour !== null) {
      tiles.push(tile(`cost / 1,000 images (${money(e.nodePricePerHour)}/node-h)`, money(e.costPer1000Images), 'cost-per-1000'));
      tiles.push(tile('projected cost of the rest', money(e.projectedRemainingCost), 'cost-rest'));
    }
    if (j.reviewQueue) tiles.push(tile('review queue', num(j.reviewQueue.pending), 'review-queue'));

    return h('div', null,
      h('h1', null, h('a', { href: '#/jobs' }, 'Jobs'), ' / ', j.jobId, ' ', state(j.state)),
      h('div', { class: 'card' },
        h('div', { class: 'muted' }, `model ${j.model.name}${j.model.sha256 ? ' (' + j.model.sha256.slice(0, 12) + ')' : ''} · source ${j.source} · output ${j.output} · submitted ${new Date(j.submittedAt).toLocaleString()}`),
        j.failureReason ? h('p', { class: 'error' }, j.failureReason) : null,
        h('div', { id: 'progress', style: { marginTop: '10px' } }, bar(j.progress, true)),
        h('div', { class: 'muted', id: 'progress-text' }, j.progress === null ? 'listing the source…' : `${pct(j.progress)} · ETA ${j.state === 'Running' ? duration(j.etaSeconds) : '–'}`),
        h('div', { class: 'tiles' }, tiles)),
      h('div', { class: 'grid' },
        h('div', { class: 'card' }, h('h2', null, 'Images/s over time'), rateChart(j.history)),
        h('div', { class: 'card' }, h('h2', null, 'Shards by state'),
          h('div', { class: 'stack', id: 'shards' }, shardPart('done', shards.done), shardPart('running', shards.running), shardPart('failed', shards.failed), shardPart('pending', shards.pending)),
          h('div', { class: 'legend' },
            h('span', null, h('i', { class: 'done' }), `done ${num(shards.done)}`),
            h('span', null, h('i', { class: 'running' }), `running ${num(shards.running)}`),
            h('span', null, h('i', { class: 'pending' }), `pending ${num(shards.pending)}`),
            h('span', null, h('i', { class: 'failed' }), `failed ${num(shards.failed)}`),
            h('span', { class: 'muted' }, `of ${num(shards.total)} · redone ${num(shards.redispatched)}`)))),
      h('div', { class: 'card' }, h('h2', null, 'Silos'),
        j.silos.length === 0 ? h('p', { class: 'muted' }, 'No silo has reported images yet.') :
          h('table', { id: 'silos' },
            h('thead', null, h('tr', null, ['Silo', 'Share', '', 'Labeled', 'Errors', 'Images/s now', 'Cores', 'Images/s per core', 'CPU-s / 1,000'].map((t, i) => h('th', { class: i >= 2 ? 'num' : null }, t)))),
            h('tbody', null, j.silos.map(x => h('tr', { 'data-silo-row': x.silo },
              h('td', null, x.silo), h('td', null, bar(x.share)), h('td', { class: 'num' }, pct(x.share)),
              h('td', { class: 'num' }, num(x.labeled)), h('td', { class: 'num' }, num(x.errors)),
              h('td', { class: 'num' }, fixed(x.imagesPerSecond)), h('td', { class: 'num' }, x.cores || '–'),
              h('td', { class: 'num' }, fixed(x.imagesPerSecondPerCore, 2)), h('td', { class: 'num' }, fixed(x.cpuSecondsPer1000Images))))))),
      h('div', { class: 'card' }, h('h2', null, 'Error classes'),
        j.errorClasses.length === 0 ? h('p', { class: 'muted' }, 'No errors.') :
          h('table', { id: 'error-classes' },
            h('thead', null, h('tr', null, h('th', null, 'Code'), h('th', { class: 'num' }, 'Images'), h('th', null, 'Examples'))),
            h('tbody', null, j.errorClasses.map(c => h('tr', { 'data-error-class': c.code },
              h('td', null, h('code', null, c.code)), h('td', { class: 'num' }, num(c.count)),
              h('td', { class: 'examples' }, c.examples.join('  ·  '))))))),
      h('div', { class: 'card' }, h('h2', null, 'Samples'),
        j.thumbnails.length === 0 ? h('p', { class: 'muted' }, 'Thumbnails appear once shards are done.') :
          h('div', { class: 'thumbs', id: 'thumbnails' }, j.thumbnails.map(t => h('figure', { class: 'thumb', 'data-thumbnail': t.index, title: t.image, style: { margin: '0' } },
            h('img', { src: t.url, alt: `${t.label} (${t.image})`, loading: 'lazy' }),
            h('div', { class: 'label' }, t.label),
            h('div', { class: 'score' }, `${(t.score * 100).toFixed(1)}% · ${t.image}`))))));
  }

  function clusterView(data) {
    return h('div', null,
      h('h1', null, 'Cluster'),
      h('div', { class: 'card' }, data.silos.length === 0 ? h('p', { class: 'muted' }, 'No silo has reported yet.') :
        h('table', { id: 'cluster' },
          h('thead', null, h('tr', null, ['Silo', 'Address', 'Cores', 'Shards / slots', 'CPU', 'Images', 'Loaded models', 'Model memory', 'Model cache disk'].map(t => h('th', null, t)))),
          h('tbody', null, data.silos.map(x => h('tr', { 'data-cluster-silo': x.silo },
            h('td', null, x.silo, x.draining ? h('span', { class: 'state Pending' }, 'draining') : null),
            h('td', null, h('code', null, x.address || '')),
            h('td', { class: 'num' }, x.cores),
            h('td', { class: 'num' }, `${x.runningShards} / ${x.slots}`),
            h('td', null, bar(x.cpuUtilization), pct(x.cpuUtilization)),
            h('td', { class: 'num' }, num(x.imagesProcessed)),
            h('td', null, x.models.length === 0 ? h('span', { class: 'muted' }, 'none') : x.models.map(m => h('div', null, `${m.name} `, h('code', null, m.sha256.slice(0, 12)), ` ${bytes(m.sizeBytes)} · ${m.users} in use`))),
            h('td', null, `${bytes(x.cacheMemoryBytes)} / ${bytes(x.cacheMemoryBudgetBytes)}`),
            h('td', null, `${bytes(x.cacheDiskBytes)} / ${bytes(x.cacheDiskBudgetBytes)}`)))))));
  }

  function route() {
    const hash = location.hash || '#/jobs';
    const job = /^#\/jobs\/([^/]+)$/.exec(hash);
    if (job) return { name: 'job', path: `/jobs/${job[1]}`, render: jobView };
    if (hash === '#/cluster') return { name: 'cluster', path: '/cluster', render: clusterView };
    return { name: 'jobs', path: '/jobs', render: jobsView };
  }

  async function refresh() {
    clearTimeout(timer);
    const r = route();
    document.querySelectorAll('[data-nav]').forEach(a => a.classList.toggle('active', a.dataset.nav === (r.name === 'job' ? 'jobs' : r.name)));
    const status = document.getElementById('status-line');
    try {
      const data = await getJson(r.path);
      if (route().name !== r.name) return;
      refreshMs = Math.max(500, (data.refreshSeconds || 2) * 1000);
      document.getElementById('view').replaceChildren(r.render(data));
      status.textContent = `updated ${new Date(data.generatedAt).toLocaleTimeString()} · refreshes every ${refreshMs / 1000} s while this tab is visible`;
    } catch (error) {
      if (error.message === 'signed out') return;
      status.textContent = `could not refresh: ${error.message}`;
      if (error.status === 404) document.getElementById('view').replaceChildren(h('p', { class: 'error' }, error.message));
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    // A hidden tab asks nothing: an open but unwatched page costs the cluster nothing.
    if (!document.hidden) timer = setTimeout(refresh, refreshMs);
  }

  document.addEventListener('visibilitychange', () => { if (document.hidden) clearTimeout(timer); else refresh(); });
  window.addEventListener('hashchange', refresh);
  getJson('/me').then(me => { document.getElementById('who').textContent = `${me.name} (${me.role})`; }).catch(() => {});
  refresh();
})();
