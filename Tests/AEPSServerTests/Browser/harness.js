// Test harness (not part of the product): drives the retailer page, loaded from the same origin in an iframe,
// as a person would, and writes what it saw into #report for `chromium --dump-dom`.
// Query: user, password, lang, w, h; expect=blocked (the popup is blocked) or closed-before-post (the person
// closes the blank window while the configuration is fetched); wait=<element id> and text=<substring>: what to
// wait for after pressing the button (default: the receipt's amount from the server).
(function () {
  var params = {};
  location.search.replace(/[?&]([^=&]+)=([^&]*)/g, function (_, k, v) { params[k] = decodeURIComponent(v); });
  var frame = document.getElementById('app');
  // Chromium's window has a minimum width; the iframe gives the page the exact viewport asked for.
  if (params.w) { frame.style.width = params.w + 'px'; }
  if (params.h) { frame.style.height = params.h + 'px'; }
  var report = { steps: [], timezoneOffset: new Date().getTimezoneOffset() };
  function finish() { document.getElementById('report').textContent = JSON.stringify(report); }
  function doc() { return frame.contentDocument; }
  function node(id) { return doc() && doc().getElementById(id); }
  function visible(id) {
    for (var n = node(id); n && n.nodeType === 1; n = n.parentNode) { if (n.hasAttribute('hidden')) { return false; } }
    return !!node(id);
  }
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
    if (tries > 2500) { report.error = 'timed out waiting for ' + label; collect(); finish(); return; }
    tick(function () { waitFor(label, condition, then, tries + 1); });
  }
  function collect() {
    report.lang = doc().documentElement.getAttribute('lang');
    report.button = text('open-gateway');
    report.buttonDisabled = node('open-gateway').disabled;
    report.status = text('result-status');
    report.resultShown = visible('result');
    var fields = ['service', 'amount', 'state', 'aadhaar', 'bank', 'rrn', 'balance', 'ref', 'time'];
    for (var i = 0; i < fields.length; i++) { report[fields[i]] = text('r-' + fields[i]); }
    report.approvedStep = node('step-approved').className;
    report.stepsShown = visible('steps');
    report.noticeShown = visible('notice');
    report.notice = text('notice');
    report.refusalShown = visible('refusal');
    report.refusal = text('refusal');
    report.pageText = doc().body.textContent;
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
        var popup = null;
        if (params.expect === 'closed-before-post') {
          var open = frame.contentWindow.open;
          frame.contentWindow.open = function (url, name) { popup = open.call(frame.contentWindow, url, name); return popup; };
        }
        node('open-gateway').click();
        if (params.expect === 'closed-before-post' && popup) { popup.close(); }
        if (params.expect === 'blocked' || params.expect === 'closed-before-post') {
          waitFor('notice', function () { return visible('notice'); }, function () {
            // The page was given time to post a form, had it wanted to.
            waitFor('settled', function () { return !node('open-gateway').disabled; }, function () {
              collect();
              report.done = true;
              finish();
            });
          });
          return;
        }
        var target = params.wait || 'r-amount', wanted = params.text || '₹';
        waitFor(target, function () { return visible(target) && text(target).indexOf(wanted) >= 0; }, function () {
          collect();
          report.done = true;
          finish();
        });
      });
    });
  });
}());
