// The web chat's page: no framework, no storage, nothing from another origin.
// Everything the person sees lives in this page's memory only; a reload starts afresh.
(function () {
  'use strict';
  var body = document.body;
  var exitUrl = body.getAttribute('data-exit') || 'about:blank';
  var $ = function (id) { return document.getElementById(id); };
  var log = $('log'), form = $('form'), text = $('text'), status = $('status');
  var csrf = null, after = 0, words = {}, ended = false, source = null, polling = false;
  var escapes = [];

  // --- the quick exit: first, before anything else can fail -------------------------------------
  function quickExit() {
    if (csrf) {
      try {
        fetch('api/exit', {method: 'POST', keepalive: true, credentials: 'same-origin', cache: 'no-store',
          headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}, body: '{}'}).catch(function () {});
      } catch (e) { /* the page leaves anyway */ }
    }
    csrf = null;
    if (source) { source.close(); }
    log.textContent = '';
    location.replace(exitUrl);
  }
  $('exit').addEventListener('click', quickExit);
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') { return; }
    var now = Date.now();
    escapes = escapes.filter(function (t) { return now - t < 3000; });
    escapes.push(now);
    if (escapes.length >= 3) { quickExit(); }
  });

  // --- talking to the server --------------------------------------------------------------------
  function post(path, data) {
    return fetch(path, {method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf || ''}, body: JSON.stringify(data)})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (response.status === 401) { end(); }
          if (!response.ok) { throw new Error(answer.error || String(response.status)); }
          return answer;
        });
      });
  }

  function say(message) {
    status.textContent = message || '';
    status.hidden = !message;
  }

  function end() {
    ended = true;
    if (source) { source.close(); }
    say(words.ended || 'This chat has ended.');
    form.hidden = true;
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function zeroBits(buffer) {
    var bytes = new Uint8Array(buffer), count = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { count += 8; continue; }
      for (var bit = 7; bit >= 0 && !(bytes[i] & (1 << bit)); bit--) { count++; }
      break;
    }
    return count;
  }

  // The proof of work: SHA-256(challenge ":" counter) with `bits` leading zero bits, 256 tries at a time.
  function solve(challenge, bits) {
    var encoder = new TextEncoder();
    function batch(start) {
      var tries = [];
      for (var n = start; n < start + 256; n++) {
        tries.push(crypto.subtle.digest('SHA-256', encoder.encode(challenge + ':' + n)));
      }
      return Promise.all(tries).then(function (digests) {
        for (var i = 0; i < digests.length; i++) {
          if (zeroBits(digests[i]) >= bits) { return String(start + i); }
        }
        return batch(start + 256);
      });
    }
    return batch(0);
  }

  function start() {
    say(words.starting || '…');
    fetch('api/challenge', {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { return r.json(); })
      .then(function (c) {
        return solve(c.challenge, c.bits).then(function (answer) {
          return post('api/session', {challenge: c.challenge, answer: answer});
        });
      })
      .then(function (answer) {
        csrf = answer.csrf;
        language(answer);
        say('');
        listen();
      })
      .catch(function (error) { say(error.message); });
  }

  // --- live updates: server-sent events, long polling when they do not get through ----------------
  function listen() {
    if (!window.EventSource) { poll(); return; }
    var ready = false;
    source = new EventSource('api/events?after=' + after);
    var timer = setTimeout(function () { if (!ready) { source.close(); poll(); } }, 5000);
    source.addEventListener('ready', function () { ready = true; clearTimeout(timer); say(''); });
    source.onmessage = function (message) { handle(JSON.parse(message.data)); };
    source.onerror = function () {
      if (ended) { return; }
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(timer);
        poll();
      } else {
        say(words.away);
      }
    };
  }

  function poll() {
    if (polling || ended) { return; }
    polling = true;
    fetch('api/poll?after=' + after, {credentials: 'same-origin', cache: 'no-store'})
      .then(function (response) {
        if (response.status === 401) { end(); return null; }
        return response.json();
      })
      .then(function (answer) {
        polling = false;
        if (!answer) { return; }
        say('');
        (answer.events || []).forEach(handle);
        poll();
      })
      .catch(function () {
        polling = false;
        say(words.away);
        setTimeout(poll, 3000);
      });
  }

  // --- what arrives -------------------------------------------------------------------------------
  // Each line takes the direction of its own first letter (dir="auto"): a reply translated into
  // one script and its mark in another, or a French sentence on an Arabic page, each read the
  // right way round, brackets included.
  function bubble(kind, words_) {
    var div = document.createElement('div');
    div.className = 'msg ' + kind;
    String(words_).split('\n').forEach(function (text) {
      var line = document.createElement('div');
      line.dir = 'auto';
      line.textContent = text;
      div.appendChild(line);
    });
    log.appendChild(div);
    div.scrollIntoView({block: 'end'});
    return div;
  }

  function buttons(holder, rows) {
    var old = holder.querySelector('.buttons');
    if (old) { holder.removeChild(old); }
    if (!rows || !rows.length) { return; }
    var box = document.createElement('div');
    box.className = 'buttons';
    rows.forEach(function (row) {
      var line = document.createElement('div');
      line.className = 'row';
      row.forEach(function (button) {
        var b = document.createElement('button');
        b.type = 'button';
        b.textContent = button[0];
        b.addEventListener('click', function () { press(box, button[1]); });
        line.appendChild(b);
      });
      box.appendChild(line);
    });
    holder.appendChild(box);
  }

  function press(box, data) {
    if (data.slice(data.indexOf(':') + 1) === '__exit__') { quickExit(); return; }
    Array.prototype.forEach.call(box.querySelectorAll('button'), function (b) { b.disabled = true; });
    post('api/send', {press: data}).catch(function (error) {
      Array.prototype.forEach.call(box.querySelectorAll('button'), function (b) { b.disabled = false; });
      say(error.message);
    });
  }

  function find(id) { return log.querySelector('[data-id="' + String(id).replace(/[^0-9]/g, '') + '"]'); }

  function language(answer) {
    if (!answer.lang) { return; }
    document.documentElement.lang = answer.lang;
    document.documentElement.dir = answer.dir || 'ltr';
    words = answer.words || words;
    $('exit').textContent = words.exit || $('exit').textContent;
    text.placeholder = words.write || '';
    $('send').setAttribute('aria-label', words.send || '');
    $('have-code').textContent = words.have_code || '';
    $('code').placeholder = words.code || '';
    $('code-go').textContent = words.go || '';
  }

  function handle(event) {
    if (event.seq <= after) { return; }
    after = event.seq;
    if (event.type === 'message') {
      var div = bubble('bot', event.text);
      div.setAttribute('data-id', event.id);
      buttons(div, event.buttons);
    } else if (event.type === 'close' || event.type === 'reselect') {
      var asked = find(event.id);
      if (!asked) { return; }
      if (event.type === 'reselect') { buttons(asked, event.buttons); return; }
      buttons(asked, []);
      if (event.echo) { bubble('me', event.echo); }
    } else if (event.type === 'erase') {
      log.textContent = '';
    } else if (event.type === 'language') {
      language(event);
    } else if (event.type === 'toast') {
      bubble('note', event.text);
    } else if (event.type === 'resume') {
      $('resume-words').textContent = words.keep_code;
      $('resume-code').textContent = event.code;
      $('resume').hidden = false;
      $('have-code').hidden = true;
    } else if (event.type === 'resumed') {
      bubble('note', words.resumed);
    }
  }

  // --- what the person writes ---------------------------------------------------------------------
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var words_ = text.value.trim();
    if (!words_ || !csrf) { return; }
    text.value = '';
    bubble('me', words_);
    post('api/send', {text: words_}).catch(function (error) { say(error.message); });
  });
  text.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  $('have-code').addEventListener('click', function () {
    $('code-form').hidden = false;
    $('have-code').hidden = true;
    $('code').focus();
  });
  $('code-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var code = $('code').value;
    $('code').value = '';
    post('api/resume', {code: code}).then(function () {
      $('code-form').hidden = true;
      say('');
    }).catch(function (error) { say(error.message); });
  });

  start();
}());
