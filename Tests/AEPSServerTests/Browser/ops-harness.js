// Test harness (not part of the product): drives the ops console, loaded from the same origin in an iframe, as a
// person would (sign in, open the transactions, open one transaction), and writes what it saw into #report.
(function () {
  var params = {};
  location.search.replace(/[?&]([^=&]+)=([^&]*)/g, function (_, k, v) { params[k] = decodeURIComponent(v); });
  var frame = document.getElementById('app');
  if (params.w) { frame.style.width = params.w + 'px'; }
  if (params.h) { frame.style.height = params.h + 'px'; }
  var report = { steps: [] };
  function finish() { document.getElementById('report').textContent = JSON.stringify(report); }
  function doc() { return frame.contentDocument; }
  // A page counts once its document is whole (under load the frame can show a partly parsed page).
  function page() {
    var d = doc(); var main = d && d.readyState === 'complete' && d.querySelector('main'); return main ? main.id : null;
  }
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
  // How wide the page's content is against its viewport: nothing may stick out sideways but scrolling tables.
  function overflow() { var d = doc().documentElement; return d.scrollWidth - d.clientWidth; }
  waitFor('signin', function () { return page() === 'ops-login' && doc().getElementById('name'); }, function () {
    report.loginOverflow = overflow();
    doc().getElementById('name').value = params.name;
    doc().getElementById('password').value = params.password;
    doc().getElementById('sign-in').click();
    waitFor('transactions', function () { return page() === 'ops-transactions'; }, function () {
      report.transactionsOverflow = overflow();
      report.rows = doc().querySelectorAll('tbody tr').length;
      var link = doc().querySelector('tbody a');
      report.firstLink = link ? link.textContent : null;
      if (!link) { report.done = true; finish(); return; }
      link.click();
      waitFor('transaction', function () { return page() === 'ops-transaction'; }, function () {
        report.transactionOverflow = overflow();
        report.heading = doc().querySelector('h1').textContent;
        report.state = doc().getElementById('state').textContent;
        report.timelineRows = doc().querySelectorAll('#timeline tbody tr').length;
        report.styled = getComputedStyle(doc().querySelector('header')).backgroundColor;
        report.done = true;
        finish();
      });
    });
  });
})();
