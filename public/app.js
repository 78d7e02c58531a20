/* The retailer page. Plain ES5 and XMLHttpRequest so it runs on old Android browsers; no third-party code.
   It never sees the access key: the server hands it a freshly signed configuration for each opening. */
(function () {
  'use strict';

  var TEXT = {
    en: {
      signInTitle: 'Sign in', userCode: 'Retailer code', password: 'Password', signIn: 'Sign in', hello: 'Namaste',
      openGateway: 'Start AePS transaction',
      openHint: "Cash withdrawal, balance enquiry or mini statement, with the customer's fingerprint.",
      stepOpening: 'Opening the gateway', stepWaiting: 'Waiting for the gateway',
      stepApproved: 'Approved, transaction in progress', stepResult: 'Result received', signOut: 'Sign out',
      receiptTitle: 'Transaction receipt', service: 'Service', amount: 'Amount', aadhaar: 'Aadhaar', bank: 'Bank',
      bankRef: 'Bank reference', balance: 'Balance', reference: 'Reference', retailer: 'Retailer', time: 'Time',
      date: 'Date', narration: 'Details', print: 'Print receipt',
      receiptNote: "This receipt is for the customer's record. The bank's statement is final.",
      type2: 'Cash withdrawal', type3: 'Balance enquiry', type4: 'Mini statement',
      status0: 'Successful', status1: 'Failed', status2: 'Pending: do not pay cash until it succeeds',
      status3: 'Refund pending', status4: 'Refunded', status5: 'On hold: do not pay cash until it succeeds',
      statusUnknown: 'Status not known yet',
      popupBlocked: 'Your browser blocked the gateway window. Allow pop-ups for this site, then press the button again.',
      sessionExpired: 'Your sign-in has ended. Please sign in again.',
      wrongCredentials: 'Wrong retailer code or password.',
      tooMany: 'Too many failed sign-ins. Please wait a few minutes and try again.',
      network: 'Could not reach the server. Check the internet connection and try again.',
      serverError: 'The server could not do this. Please try again.',
      fillBoth: 'Please enter your retailer code and password.',
      serverState: 'Server status', refusedPrefix: 'Refused: ',
      state_approved: "Approved, waiting for Eko's confirmation", state_refused: 'Refused',
      state_pending: 'Pending: do not pay cash until it succeeds', state_hold: 'On hold: do not pay cash until it succeeds',
      state_success: "Reported successful, waiting for Eko's confirmation", state_settled: 'Successful',
      state_failed: 'Failed', state_refund_pending: 'Refund pending', state_refunded: 'Refunded', state_closed: 'Closed',
      state_needs_attention: 'Under review: do not pay cash, check with support',
      notOnServer: 'Not found among your transactions',
      notCompleted: 'Transaction not completed: {message}. Do not pay cash. Try again or check with support.',
      windowClosed: 'The gateway window was closed. Press the button again.',
      closedBeforeResult: 'The gateway window was closed before the result. The server will check with Eko; do not pay cash until it shows Successful.'
    },
    hi: {
      signInTitle: 'साइन इन करें', userCode: 'रिटेलर कोड', password: 'पासवर्ड', signIn: 'साइन इन', hello: 'नमस्ते',
      openGateway: 'AePS लेनदेन शुरू करें',
      openHint: 'ग्राहक के फ़िंगरप्रिंट से नकद निकासी, बैलेंस पूछताछ या मिनी स्टेटमेंट।',
      stepOpening: 'गेटवे खुल रहा है', stepWaiting: 'गेटवे की प्रतीक्षा',
      stepApproved: 'स्वीकृत, लेनदेन जारी है', stepResult: 'परिणाम मिला', signOut: 'साइन आउट',
      receiptTitle: 'लेनदेन रसीद', service: 'सेवा', amount: 'राशि', aadhaar: 'आधार', bank: 'बैंक',
      bankRef: 'बैंक संदर्भ', balance: 'बैलेंस', reference: 'संदर्भ', retailer: 'रिटेलर', time: 'समय',
      date: 'तारीख', narration: 'विवरण', print: 'रसीद प्रिंट करें',
      receiptNote: 'यह रसीद ग्राहक के रिकॉर्ड के लिए है। बैंक का स्टेटमेंट ही अंतिम है।',
      type2: 'नकद निकासी', type3: 'बैलेंस पूछताछ', type4: 'मिनी स्टेटमेंट',
      status0: 'सफल', status1: 'असफल', status2: 'लंबित: सफल होने तक नकद न दें',
      status3: 'रिफंड लंबित', status4: 'रिफंड हो गया', status5: 'रोका गया: सफल होने तक नकद न दें',
      statusUnknown: 'स्थिति अभी पता नहीं',
      popupBlocked: 'ब्राउज़र ने गेटवे विंडो रोक दी। इस साइट के लिए पॉप-अप की अनुमति दें और बटन फिर दबाएँ।',
      sessionExpired: 'आपका साइन इन समाप्त हो गया। कृपया फिर से साइन इन करें।',
      wrongCredentials: 'रिटेलर कोड या पासवर्ड गलत है।',
      tooMany: 'बहुत सारे असफल प्रयास। कुछ मिनट बाद फिर कोशिश करें।',
      network: 'सर्वर से संपर्क नहीं हो सका। इंटरनेट जाँचें और फिर कोशिश करें।',
      serverError: 'सर्वर यह नहीं कर सका। कृपया फिर कोशिश करें।',
      fillBoth: 'कृपया रिटेलर कोड और पासवर्ड दर्ज करें।',
      serverState: 'सर्वर पर स्थिति', refusedPrefix: 'अस्वीकृत: ',
      state_approved: 'स्वीकृत, Eko की पुष्टि की प्रतीक्षा', state_refused: 'अस्वीकृत',
      state_pending: 'लंबित: सफल होने तक नकद न दें', state_hold: 'रोका गया: सफल होने तक नकद न दें',
      state_success: 'सफल बताया गया, Eko की पुष्टि की प्रतीक्षा', state_settled: 'सफल',
      state_failed: 'असफल', state_refund_pending: 'रिफंड लंबित', state_refunded: 'रिफंड हो गया', state_closed: 'बंद',
      state_needs_attention: 'जाँच जारी: नकद न दें, सहायता से संपर्क करें',
      notOnServer: 'आपके लेनदेन में नहीं मिला',
      notCompleted: 'लेनदेन पूरा नहीं हुआ: {message}। नकद न दें। फिर कोशिश करें या सहायता से संपर्क करें।',
      windowClosed: 'गेटवे विंडो बंद हो गई। बटन फिर दबाएँ।',
      closedBeforeResult: 'परिणाम से पहले गेटवे विंडो बंद हो गई। सर्वर Eko से जाँच करेगा; जब तक यह सफल न दिखाए, नकद न दें।'
    }
  };

  var WINDOW_NAME = 'EkoAePS';
  // Members of the server's configuration that are not gateway form fields.
  var NOT_FORM_FIELDS = { gateway_url: true, expires_at: true, opening_id: true };
  var POLL_MS = 2000;                 // how often the server is asked while a gateway opening is watched
  var AFTER_CLOSE_MS = 10000;         // how long after the window closed, once a result came
  var AFTER_CLOSE_NO_RESULT_MS = 600000;  // how long after the window closed before any result
  var WATCH_AT_MOST_MS = 1800000;     // a window left open: stop asking after half an hour
  var FINAL_STATES = { refused: true, settled: true, failed: true, refunded: true, closed: true, needs_attention: true };
  var state = {
    lang: 'en', me: null, gatewayOrigin: null, lastNotice: null,
    phase: null,      // null, 'opening', 'waiting' or 'result'
    watch: null,      // the gateway opening being watched: {id, popup, closedAt, timer}
    tx: null,         // the server's view of the transaction (GET /api/...): service, amount, decision, state
    ref: null,        // the client_ref_id of the gateway's result message
    txMissing: false, // the server has no such transaction for this retailer
    message: null,    // the gateway's result message (display only)
    resultAt: null, closedEarly: false
  };

  function $(id) { return document.getElementById(id); }
  function t(key) { return (TEXT[state.lang] && TEXT[state.lang][key]) || TEXT.en[key] || key; }

  function setText(id, value) { $(id).textContent = value == null || value === '' ? '-' : String(value); }
  function show(id, visible) { if (visible) { $(id).removeAttribute('hidden'); } else { $(id).setAttribute('hidden', ''); } }

  function notice(key, isError, literal) {
    state.lastNotice = key ? { key: key, isError: isError, literal: literal } : null;
    var box = $('notice');
    if (!key) { show('notice', false); return; }
    box.textContent = literal || t(key);
    box.className = isError ? 'notice error' : 'notice';
    show('notice', true);
  }

  // --- Language -----------------------------------------------------------------------------------------------

  function applyLanguage(lang) {
    state.lang = TEXT[lang] ? lang : 'en';
    try { window.localStorage.setItem('aeps.lang', state.lang); } catch (e) { /* private mode */ }
    document.documentElement.setAttribute('lang', state.lang);
    var nodes = document.querySelectorAll('[data-t]');
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = t(nodes[i].getAttribute('data-t')); }
    var buttons = document.querySelectorAll('.lang');
    for (var j = 0; j < buttons.length; j++) {
      buttons[j].setAttribute('aria-pressed', buttons[j].getAttribute('data-lang') === state.lang ? 'true' : 'false');
    }
    if (state.lastNotice) { notice(state.lastNotice.key, state.lastNotice.isError, state.lastNotice.literal); }
    render();
    if (state.tx && state.tx.decision === 'refused') { lookUp(state.watch, null); }  // its message, in this language
  }

  // --- Server calls -------------------------------------------------------------------------------------------

  function request(method, path, body, done) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, path, true);
    xhr.setRequestHeader('Accept', 'application/json');
    if (body !== null) { xhr.setRequestHeader('Content-Type', 'application/json'); }
    if (state.me && state.me.csrf_token) { xhr.setRequestHeader('X-CSRF-Token', state.me.csrf_token); }
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) { return; }
      var json = null;
      try { json = JSON.parse(xhr.responseText); } catch (e) { json = null; }
      done(xhr.status, json || {});
    };
    xhr.send(body === null ? null : JSON.stringify(body));
  }

  function signedIn(me) {
    state.me = me;
    state.gatewayOrigin = me.gateway_origin || null;
    setText('retailer-name', me.name);
    setText('retailer-code', me.user_code);
    if (me.partner_name) { setText('brand', me.partner_name); }
    show('signin', false);
    show('home', true);
  }

  function signedOut(reasonKey) {
    stopWatching();
    state.me = null;
    show('home', false);
    show('signin', true);
    notice(reasonKey || null, !!reasonKey);
    try { $('user-code').focus(); } catch (e) { /* old browsers */ }
  }

  // --- Steps and result ---------------------------------------------------------------------------------------

  // The steps follow the page's phase and the server's decision: "Approved" only when the server approved.
  function renderSteps() {
    var phase = state.phase;
    show('steps', phase !== null);
    if (phase === null) { return; }
    var decision = state.tx ? state.tx.decision : null;
    $('step-opening').className = phase === 'opening' ? 'current' : 'done';
    $('step-waiting').className = phase === 'opening' ? '' : (phase === 'waiting' && !decision ? 'current' : 'done');
    // The server's final state (a settlement after a closed window, say) is the result, message or not.
    var settledByServer = decision === 'approved' && isFinal();
    $('step-approved').className = decision === 'approved' ? (phase === 'result' || settledByServer ? 'done' : 'current')
      : (decision === 'refused' ? 'refused' : '');
    $('step-result').className = settledByServer ? 'done' : (phase === 'result' ? 'current' : '');
  }

  function lastFour(text) {
    var digits = String(text || '').replace(/[^0-9]/g, '');
    return digits.length >= 4 ? 'XXXX XXXX ' + digits.slice(-4) : '';
  }

  function rupees(value) {
    if (value === undefined || value === null || value === '') { return ''; }
    return '₹ ' + value;
  }

  function two(n) { return (n < 10 ? '0' : '') + n; }

  // Indian time (UTC+05:30, no daylight saving) as DD-MM-YYYY HH:MM IST, whatever the device's zone and locale.
  function indianTime(ms) {
    var d = new Date(ms + 330 * 60000);
    return two(d.getUTCDate()) + '-' + two(d.getUTCMonth() + 1) + '-' + d.getUTCFullYear() + ' ' +
      two(d.getUTCHours()) + ':' + two(d.getUTCMinutes()) + ' IST';
  }

  // The server's timestamps: 2026-11-25T14:55:57Z (UTC). Parsed by hand: old browsers' Date.parse varies.
  function utcMillis(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z$/.exec(String(text || ''));
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : null;
  }

  // An error reply from the gateway: not HTTP 200, a non-zero status, or no data. Its message, if any.
  function gatewayError(detail) {
    var response = detail && detail.response;
    var failed = (detail && detail.http_status !== undefined && String(detail.http_status) !== '200') ||
      !response || typeof response !== 'object' || String(response.status) !== '0' ||
      !response.data || typeof response.data !== 'object';
    if (!failed) { return null; }
    var text = (response && typeof response === 'object' && response.message) || (detail && detail.message) || '-';
    return String(text).slice(0, 300);
  }

  function stateWords(tx) { return TEXT.en['state_' + tx.state] ? t('state_' + tx.state) : String(tx.state); }

  // Draws the steps, the refusal and the receipt from what is known: the server's transaction (service, amount,
  // decision, state, time) and the gateway's message (status, Aadhaar last four, bank, balance, statement rows).
  function render() {
    renderSteps();
    var tx = state.tx;
    var refused = !!(tx && tx.decision === 'refused');
    $('refusal').textContent = refused ? t('refusedPrefix') + (tx.message || '-') : '';
    show('refusal', refused);
    var detail = state.message;
    if (!detail && !state.closedEarly) { show('result', false); return; }
    var error = detail ? gatewayError(detail) : null;
    var data = detail && !error ? detail.response.data : {};
    var statusNode = $('result-status');
    var status = '';
    if (error) {
      statusNode.textContent = t('notCompleted').replace('{message}', error);
      statusNode.className = 'status bad';
    } else if (detail) {
      status = data.tx_status !== undefined ? String(data.tx_status) : '';
      statusNode.textContent = TEXT.en['status' + status] ? t('status' + status) : t('statusUnknown');
      statusNode.className = 'status ' + (status === '0' ? 'ok' : (status === '1' ? 'bad' : 'wait'));
    } else {
      statusNode.textContent = tx ? stateWords(tx) : t('statusUnknown');
      statusNode.className = 'status ' + (tx && tx.state === 'settled' ? 'ok' : (tx && FINAL_STATES[tx.state] ? 'bad' : 'wait'));
    }
    var type = tx && tx.type != null ? String(tx.type) : '';
    setText('r-service', type ? (TEXT.en['type' + type] ? t('type' + type) : type) : '');
    setText('r-amount', tx && type === '2' ? rupees(tx.amount) : '');
    setText('r-state', tx ? stateWords(tx) : (state.txMissing ? t('notOnServer') : ''));
    setText('r-aadhaar', lastFour(data.aadhar || data.aadhaar));
    setText('r-bank', data.bank);
    setText('r-rrn', (tx && tx.bank_ref_num) || data.bank_ref_num);
    setText('r-balance', rupees(data.balance));
    var ref = tx ? tx.client_ref_id : state.ref;
    var tid = (tx && tx.tid) || data.tid;
    setText('r-ref', [ref, tid].filter(function (x) { return x; }).join(' / '));
    setText('r-retailer', state.me ? state.me.name + ' (' + state.me.user_code + ')' : '');
    var decided = tx ? utcMillis(tx.decided_at) : null;
    setText('r-time', indianTime(decided !== null ? decided : (state.resultAt || new Date().getTime())));
    var rows = data.mini_statement_list || data.statement || [];
    if (Object.prototype.toString.call(rows) !== '[object Array]') { rows = []; }
    var body = $('r-statement').getElementsByTagName('tbody')[0];
    while (body.firstChild) { body.removeChild(body.firstChild); }
    for (var i = 0; i < rows.length && i < 50; i++) {
      var row = rows[i] || {};
      var tr = document.createElement('tr');
      var cells = [row.date, row.narration, (row.txnType ? row.txnType + ' ' : '') + (row.amount || '')];
      for (var c = 0; c < cells.length; c++) {
        var td = document.createElement('td');
        td.textContent = cells[c] == null ? '' : String(cells[c]);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    show('r-statement', rows.length > 0);
    show('result', true);
  }

  // --- The server's view of the transaction ------------------------------------------------------------------

  function validRef(ref) { return typeof ref === 'string' && /^[\x21-\x7e]{1,64}$/.test(ref); }

  // Takes a transaction from the server, unless the gateway's result names another one.
  function applyTransaction(tx) {
    if (!tx || (state.ref && tx.client_ref_id !== state.ref)) { return; }
    state.tx = tx;
    state.txMissing = false;
    render();
  }

  // Asks the server once: by the result's client_ref_id once there is one, else by the gateway opening.
  function lookUp(watch, done) {
    var path = state.ref ? '/api/transactions/' + encodeURIComponent(state.ref)
      : (watch ? '/api/gateway-sessions/' + encodeURIComponent(watch.id) + '/transaction' : null);
    if (!path) { if (done) { done(); } return; }
    path += '?lang=' + encodeURIComponent(state.lang);  // the refusal's message in the page's language
    var asked = state.ref;
    request('GET', path, null, function (status, json) {
      if (watch !== state.watch) { return; }  // a newer opening took over
      if (status === 401) { signedOut('sessionExpired'); return; }
      if (asked === state.ref) {  // else a result message came meanwhile, and named the transaction to ask for
        if (status === 200) { applyTransaction(json.transaction); }
        if (status === 404 && asked) { state.tx = null; state.txMissing = true; render(); }
      }
      if (done) { done(); }
    });
  }

  function isFinal() { return !!(state.tx && FINAL_STATES[state.tx.state]); }

  function stopWatching() {
    if (state.watch && state.watch.timer) { window.clearTimeout(state.watch.timer); }
    state.watch = null;
  }

  // While the gateway window is open (and a while after), asks the server every POLL_MS.
  function watchOpening(id, popup) {
    stopWatching();
    var watch = { id: id, popup: popup, closedAt: null, timer: null, startedAt: new Date().getTime() };
    state.watch = watch;
    function next() { watch.timer = window.setTimeout(check, POLL_MS); }
    function check() {
      if (state.watch !== watch) { return; }
      var closed = true;
      try { closed = !watch.popup || watch.popup.closed; } catch (e) { closed = true; }
      if (closed && watch.closedAt === null) {
        watch.closedAt = new Date().getTime();
        if (!state.message) { state.closedEarly = true; notice('closedBeforeResult', true); render(); }
      }
      lookUp(watch, function () {
        if (state.watch !== watch) { return; }
        if (isFinal()) { stopWatching(); return; }
        var grace = state.message ? AFTER_CLOSE_MS : AFTER_CLOSE_NO_RESULT_MS;
        var now = new Date().getTime();
        if (watch.closedAt !== null && now - watch.closedAt > grace) { stopWatching(); return; }
        if (now - watch.startedAt > WATCH_AT_MOST_MS) { stopWatching(); return; }
        next();
      });
    }
    next();
  }

  // --- The gateway ----------------------------------------------------------------------------------------------

  function originOf(url) {
    var match = /^(https?:\/\/[^\/?#]+)/i.exec(url || '');
    return match ? match[1] : null;
  }

  function resetTransaction() {
    stopWatching();
    state.tx = null; state.ref = null; state.txMissing = false; state.message = null;
    state.resultAt = null; state.closedEarly = false;
  }

  function openGateway() {
    notice(null);
    resetTransaction();
    state.phase = null;
    render();
    // Open the named window now, inside the click, so popup blockers allow it; the form is posted into it below.
    var popup = window.open('', WINDOW_NAME);
    if (!popup) { notice('popupBlocked', true); return; }
    state.phase = 'opening';
    renderSteps();
    $('open-gateway').disabled = true;
    request('POST', '/api/gateway-config', { language: state.lang }, function (status, json) {
      $('open-gateway').disabled = false;
      if (status === 401) { try { popup.close(); } catch (e) {} state.phase = null; renderSteps(); signedOut('sessionExpired'); return; }
      if (status !== 200 || !json.gateway_url) {
        try { popup.close(); } catch (e) {}
        state.phase = null;
        renderSteps();
        notice(status === 0 ? 'network' : 'serverError', true, status === 0 ? null : json.message);
        return;
      }
      // The retailer may have closed the blank window while the configuration was on its way: posting would
      // open a new, unexpected one (or none). Nothing is sent; the gateway session expires unused.
      var closed = true;
      try { closed = popup.closed; } catch (e) { closed = true; }
      if (closed) { state.phase = null; renderSteps(); notice('windowClosed', true); return; }
      state.gatewayOrigin = originOf(json.gateway_url);
      var form = document.createElement('form');
      form.method = 'post';
      form.action = json.gateway_url;
      form.target = WINDOW_NAME;
      for (var key in json) {
        if (!json.hasOwnProperty(key) || NOT_FORM_FIELDS[key]) { continue; }
        var input = document.createElement('input');
        input.type = 'hidden';
        input.name = key;
        input.value = json[key];
        form.appendChild(input);
      }
      document.body.appendChild(form);
      form.submit();
      document.body.removeChild(form);
      state.phase = 'waiting';
      renderSteps();
      if (json.opening_id != null) { watchOpening(String(json.opening_id), popup); }
    });
  }

  // Events from Eko's popup, only from the configured gateway origin, and for display only: the server says what
  // was approved, for which service and amount.
  function onMessage(event) {
    if (!state.gatewayOrigin || event.origin !== state.gatewayOrigin) { return; }
    var data = event.data;
    if (typeof data === 'string') { try { data = JSON.parse(data); } catch (e) { return; } }
    var message = data && data.eko_gateway_response;
    if (!message || typeof message !== 'object') { return; }
    var detail = message.detail && typeof message.detail === 'object' ? message.detail : {};
    if (message.action === 'debit-hook') {
      // The server decided before the gateway says so: ask it now rather than at the next poll.
      if (state.watch && !state.message) { lookUp(state.watch, null); }
    } else if (message.action === 'response') {
      var ref = validRef(detail.client_ref_id) ? detail.client_ref_id : null;
      if (!state.tx || !ref || state.tx.client_ref_id !== ref) { state.tx = null; }
      state.ref = ref;
      state.txMissing = !ref;
      state.message = detail;
      state.resultAt = new Date().getTime();
      state.phase = 'result';
      if (state.lastNotice && state.lastNotice.key === 'closedBeforeResult') { notice(null); }
      render();
      if (ref) { lookUp(state.watch, null); }
    }
  }

  // --- Wiring ---------------------------------------------------------------------------------------------------

  function init() {
    var saved = null;
    try { saved = window.localStorage.getItem('aeps.lang'); } catch (e) { saved = null; }
    applyLanguage(saved || 'en');
    var langs = document.querySelectorAll('.lang');
    for (var i = 0; i < langs.length; i++) {
      langs[i].onclick = function () { applyLanguage(this.getAttribute('data-lang')); };
    }
    $('signin-form').onsubmit = function (event) {
      event.preventDefault();
      var code = $('user-code').value.replace(/^\s+|\s+$/g, '');
      var password = $('password').value;
      if (!code || !password) { notice('fillBoth', true); return; }
      $('signin-button').disabled = true;
      request('POST', '/api/login', { user_code: code, password: password }, function (status, json) {
        $('signin-button').disabled = false;
        $('password').value = '';
        if (status === 200) { notice(null); signedIn(json); return; }
        notice(status === 401 ? 'wrongCredentials' : status === 429 ? 'tooMany' : status === 0 ? 'network' : 'serverError',
          true, status === 403 ? json.message : null);
      });
    };
    $('open-gateway').onclick = openGateway;
    $('signout').onclick = function () {
      request('POST', '/api/logout', null, function () {
        resetTransaction(); state.phase = null; render(); signedOut(null);
      });
    };
    $('print').onclick = function () { window.print(); };
    if (window.addEventListener) { window.addEventListener('message', onMessage, false); }
    request('GET', '/api/me', null, function (status, json) {
      if (status === 200) { signedIn(json); } else { signedOut(null); }
    });
  }

  init();
}());
