// Test harness (not part of the product): drives the retailer page, loaded from the same origin in an iframe,
// as a person would, and writes what it saw into #report for `chromium --dump-dom`.
(function () {
  var params = {};
  location.search.replace(/[?&]([^=&]+)=([^&]*)/g, function (_, k, v) { params[k] = decodeURIComponent(v); });
  var frame = document.getElementById('app');
  // Chromium's window has a minimum width; the iframe gives the page the exact viewport asked for.
  if (params.w) { frame.style.width = params.w + 'px'; }
  if (params.h) { frame.style.height = params.h + 'px'; }
  var report = { steps: [] };
  function finish() { document.getElementById('report').textContent = JSON.stringify(report); }
  function doc() { return frame.contentDocument; }
  function node(id) { return doc() && doc().getElementById(id); }
  function visible(id) { var n = node(id); return !!n && !n.hasAttribute('hidden'); }
  function text(id) { var n = node(id); return n ? n.textContent : null; }
  // Polls by a same-origin request rather than a timer: a pending request holds headless Chromium's virtual
  // clock, so the gateway window (another page, with its own requests) gets real time to do its work.
  function tick(next) {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', '/healthz?harness', true);
    xhr.onreadystatechange = function () { if (xhr.readyState === 4) { next(); } };
    xhr.send(null);
  }
  function waitFor(label, condition, then, tries) {
    tries = tries || 0;
    if (condition()) { report.steps.push(label); finish(); then(); return; }
    if (tries > 1500) { report.error = 'timed out waiting for ' + label; finish(); return; }
    tick(function () { waitFor(label, condition, then, tries + 1); });
  }
  waitFor('signin', function () { return visible('signin'); }, function () {
    if (params.lang) { doc().querySelector('.lang[data-lang="' + params.lang + '"]').click(); }
    node('user-code').value = params.user;
    node('password').value = params.password;
    node('signin-button').click();
    waitFor('home', function () { return visible('home'); }, function () {
      report.greeting = text('retailer-name');
      // A message that does not come from the gateway's origin must be ignored.
      frame.contentWindow.postMessage(
        { eko_gateway_response: { action: 'response', detail: { response: { data: { tx_status: '0', amount: '99999' } } } } }, '*');
      waitFor('forged message delivered', function () { return true; }, function () {
        report.forgedMessageShown = visible('result');
        node('open-gateway').click();
        if (params.expect === 'blocked') {
          waitFor('notice', function () { return visible('notice'); }, function () {
            report.notice = text('notice');
            report.stepsShown = visible('steps');
            report.done = true;
            finish();
          });
          return;
        }
        waitFor('result', function () { return visible('result') && text('r-amount') !== '-'; }, function () {
          report.lang = doc().documentElement.getAttribute('lang');
          report.button = text('open-gateway');
          report.status = text('result-status');
          report.service = text('r-service');
          report.amount = text('r-amount');
          report.aadhaar = text('r-aadhaar');
          report.bank = text('r-bank');
          report.rrn = text('r-rrn');
          report.balance = text('r-balance');
          report.approvedStep = node('step-approved').className;
          report.noticeShown = visible('notice');
          report.done = true;
          finish();
        });
      });
    });
  });
}());
