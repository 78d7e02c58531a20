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
      fillBoth: 'Please enter your retailer code and password.'
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
      fillBoth: 'कृपया रिटेलर कोड और पासवर्ड दर्ज करें।'
    }
  };

  var WINDOW_NAME = 'EkoAePS';
  var state = { lang: 'en', me: null, gatewayOrigin: null, hookType: null, lastNotice: null };

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
    if (state.result) { showResult(state.result); }
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
    state.me = null;
    show('home', false);
    show('signin', true);
    notice(reasonKey || null, !!reasonKey);
    try { $('user-code').focus(); } catch (e) { /* old browsers */ }
  }

  // --- Steps and result ---------------------------------------------------------------------------------------

  var STEPS = ['step-opening', 'step-waiting', 'step-approved', 'step-result'];
  function setStep(current) {
    show('steps', current !== null);
    var reached = true;
    for (var i = 0; i < STEPS.length; i++) {
      var li = $(STEPS[i]);
      if (STEPS[i] === current) { li.className = 'current'; reached = false; } else { li.className = reached && current ? 'done' : ''; }
    }
  }

  function lastFour(text) {
    var digits = String(text || '').replace(/[^0-9]/g, '');
    return digits.length >= 4 ? 'XXXX XXXX ' + digits.slice(-4) : '';
  }

  function rupees(value) {
    if (value === undefined || value === null || value === '') { return ''; }
    return '₹ ' + value;
  }

  function showResult(detail) {
    state.result = detail;
    var response = (detail && detail.response) || {};
    var data = response.data || {};
    var status = data.tx_status !== undefined ? String(data.tx_status) : '';
    var words = TEXT.en['status' + status] ? t('status' + status) : t('statusUnknown');
    var statusNode = $('result-status');
    statusNode.textContent = words;
    statusNode.className = 'status ' + (status === '0' ? 'ok' : (status === '1' ? 'bad' : 'wait'));
    var type = String(state.hookType || data.type || '');
    setText('r-service', TEXT.en['type' + type] ? t('type' + type) : type);
    setText('r-amount', type === '2' ? rupees(data.amount) : '');
    setText('r-aadhaar', lastFour(data.aadhar || data.aadhaar));
    setText('r-bank', data.bank);
    setText('r-rrn', data.bank_ref_num);
    setText('r-balance', rupees(data.balance));
    setText('r-ref', [detail.client_ref_id, data.tid].filter(function (x) { return x; }).join(' / '));
    setText('r-retailer', state.me ? state.me.name + ' (' + state.me.user_code + ')' : '');
    setText('r-time', data.transaction_date || new Date().toLocaleString());
    var rows = data.mini_statement_list || data.statement || [];
    var body = $('r-statement').getElementsByTagName('tbody')[0];
    while (body.firstChild) { body.removeChild(body.firstChild); }
    for (var i = 0; i < rows.length && i < 50; i++) {
      var tr = document.createElement('tr');
      var cells = [rows[i].date, rows[i].narration, (rows[i].txnType ? rows[i].txnType + ' ' : '') + (rows[i].amount || '')];
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

  // --- The gateway ----------------------------------------------------------------------------------------------

  function originOf(url) {
    var match = /^(https?:\/\/[^\/?#]+)/i.exec(url || '');
    return match ? match[1] : null;
  }

  function openGateway() {
    notice(null);
    show('result', false);
    state.result = null;
    state.hookType = null;
    // Open the named window now, inside the click, so popup blockers allow it; the form is posted into it below.
    var popup = window.open('', WINDOW_NAME);
    if (!popup) { notice('popupBlocked', true); setStep(null); return; }
    setStep('step-opening');
    $('open-gateway').disabled = true;
    request('POST', '/api/gateway-config', { language: state.lang }, function (status, json) {
      $('open-gateway').disabled = false;
      if (status === 401) { try { popup.close(); } catch (e) {} setStep(null); signedOut('sessionExpired'); return; }
      if (status !== 200 || !json.gateway_url) {
        try { popup.close(); } catch (e) {}
        setStep(null);
        notice(status === 0 ? 'network' : 'serverError', true, status === 0 ? null : json.message);
        return;
      }
      state.gatewayOrigin = originOf(json.gateway_url);
      var form = document.createElement('form');
      form.method = 'post';
      form.action = json.gateway_url;
      form.target = WINDOW_NAME;
      for (var key in json) {
        if (!json.hasOwnProperty(key) || key === 'gateway_url' || key === 'expires_at') { continue; }
        var input = document.createElement('input');
        input.type = 'hidden';
        input.name = key;
        input.value = json[key];
        form.appendChild(input);
      }
      document.body.appendChild(form);
      form.submit();
      document.body.removeChild(form);
      setStep('step-waiting');
    });
  }

  // Events from Eko's popup: trusted for display only, and only from the configured gateway origin.
  function onMessage(event) {
    if (!state.gatewayOrigin || event.origin !== state.gatewayOrigin) { return; }
    var data = event.data;
    if (typeof data === 'string') { try { data = JSON.parse(data); } catch (e) { return; } }
    var message = data && data.eko_gateway_response;
    if (!message || typeof message !== 'object') { return; }
    var detail = message.detail || {};
    if (message.action === 'debit-hook') {
      state.hookType = detail.data && detail.data.type !== undefined ? String(detail.data.type) : state.hookType;
      setStep('step-approved');
    } else if (message.action === 'response') {
      setStep('step-result');
      showResult(detail);
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
      request('POST', '/api/logout', null, function () { setStep(null); show('result', false); signedOut(null); });
    };
    $('print').onclick = function () { window.print(); };
    if (window.addEventListener) { window.addEventListener('message', onMessage, false); }
    request('GET', '/api/me', null, function (status, json) {
      if (status === 200) { signedIn(json); } else { signedOut(null); }
    });
  }

  init();
}());
