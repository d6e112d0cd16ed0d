// The live page: one EventSource on /api/live (a snapshot with the history, then a tick per second).
/* global uPlot */
(() => {
  const MAX_POINTS = 600;
  const chartBox = document.getElementById('throughput');
  const connection = document.getElementById('connection');
  const data = [[], [], []];
  let chart;

  function makeChart() {
    const width = Math.max(300, chartBox.clientWidth);
    chart = new uPlot(
      {
        width,
        height: 260,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [
          {},
          { label: 'compute items/s', stroke: '#2f6fed', width: 2, fill: 'rgba(47,111,237,0.08)' },
          { label: 'fetch items/s', stroke: '#e08a1e', width: 2 },
        ],
        axes: [{}, { label: 'items/s' }],
      },
      data,
      chartBox,
    );
    window.addEventListener('resize', () => chart.setSize({ width: Math.max(300, chartBox.clientWidth), height: 260 }));
  }

  function addPoint(point) {
    data[0].push(point.t / 1000);
    data[1].push(point.compute);
    data[2].push(point.fetch);
    if (data[0].length > MAX_POINTS) data.forEach((series) => series.shift());
  }

  function drawChart() {
    chart.setData(data);
    chartBox.dataset.points = String(data[0].length);
  }

  function drawQueues(queues) {
    const body = document.querySelector('#queues tbody');
    body.replaceChildren(
      ...Object.entries(queues).map(([name, states]) => {
        const row = document.createElement('tr');
        row.dataset.queue = name;
        for (const value of [name, states.waiting, states.active, states.delayed, states.failed, states.completed]) {
          const cell = document.createElement('td');
          cell.textContent = String(value);
          row.append(cell);
        }
        return row;
      }),
    );
  }

  function drawWorkloads(workloads) {
    const list = document.getElementById('workloads');
    list.replaceChildren(
      ...workloads.map((workload) => {
        const item = document.createElement('li');
        item.className = `status-${workload.status}`;
        item.dataset.workloadId = workload.id;
        const name = document.createElement('div');
        name.className = 'name';
        name.innerHTML = '<strong></strong><br><span class="id"></span>';
        name.querySelector('strong').textContent = workload.task || workload.type;
        name.querySelector('.id').textContent = workload.id;
        const bar = document.createElement('progress');
        bar.max = workload.total;
        bar.value = workload.completed + workload.failed;
        const count = document.createElement('div');
        count.className = 'count';
        count.textContent = `${workload.completed + workload.failed}/${workload.total} ${workload.status}`;
        item.append(name, bar, count);
        return item;
      }),
    );
  }

  makeChart();
  const source = new EventSource('api/live');
  source.addEventListener('open', () => {
    connection.textContent = 'live';
    connection.classList.add('live');
  });
  source.addEventListener('error', () => {
    connection.textContent = 'reconnecting…';
    connection.classList.remove('live');
  });
  // Who is looking: a tenant sees its own workloads (and no links to the admins' pages); the open
  // dashboard (no tokens configured) has nobody to sign out.
  function drawViewer(viewer) {
    if (!viewer) return;
    const signOut = document.getElementById('sign-out');
    signOut.hidden = viewer.tenant === '';
    document.getElementById('viewer').textContent = viewer.tenant === '' ? '' : `signed in as ${viewer.tenant}${viewer.admin ? ' (admin)' : ''}`;
    for (const element of document.querySelectorAll('.admin-only')) element.hidden = !viewer.admin;
  }

  source.addEventListener('snapshot', (event) => {
    const snapshot = JSON.parse(event.data);
    drawViewer(snapshot.viewer);
    data.forEach((series) => (series.length = 0));
    snapshot.points.forEach(addPoint);
    drawChart();
    drawQueues(snapshot.queues);
    drawWorkloads(snapshot.workloads);
  });
  source.addEventListener('tick', (event) => {
    const tick = JSON.parse(event.data);
    addPoint(tick.point);
    drawChart();
    drawQueues(tick.queues);
    drawWorkloads(tick.workloads);
  });
})();
