// Taskforce's own script (served from /assets, so the Content-Security-Policy
// stays `script-src 'self'`). Every page works without it; it adds two things
// a tired officer needs:
//  1. A warning two minutes before the idle timeout signs the user out, with
//     a button that keeps the session alive, and a notice once it has lapsed.
//  2. Forms marked `data-keep` are copied to this tab's sessionStorage when
//     sent. If the session had expired, the server answers with the sign-in
//     page; after signing in, the same form comes back and what was typed is
//     put back. Fields marked `data-secret` (identities) are never copied.
//     The copy is deleted once the page shows the form was saved.
(function () {
  'use strict';
  var body = document.body;
  var idle = Number(body.getAttribute('data-idle-seconds') || 0);
  var WARN = 120;

  function banner(id, text, button) {
    var old = document.getElementById(id);
    if (old) old.remove();
    var div = document.createElement('div');
    div.id = id;
    div.className = 'idle-banner';
    div.setAttribute('role', 'alert');
    var p = document.createElement('p');
    p.textContent = text;
    div.appendChild(p);
    if (button) div.appendChild(button);
    body.insertBefore(div, body.firstChild);
    return div;
  }

  if (idle > WARN) {
    var warnTimer, outTimer;
    var arm = function () {
      clearTimeout(warnTimer);
      clearTimeout(outTimer);
      warnTimer = setTimeout(function () {
        var stay = document.createElement('button');
        stay.type = 'button';
        stay.textContent = 'Stay signed in';
        stay.addEventListener('click', function () {
          fetch('/account/alive', { method: 'POST', credentials: 'same-origin', headers: { 'X-Requested-With': 'taskforce' } })
            .then(function (r) {
              var b = document.getElementById('idle-warning');
              if (b) b.remove();
              if (r.ok) arm();
            });
        });
        banner('idle-warning', 'You will be signed out in 2 minutes because nothing was sent. What you type here is kept if that happens.', stay);
      }, (idle - WARN) * 1000);
      outTimer = setTimeout(function () {
        var w = document.getElementById('idle-warning');
        if (w) w.remove();
        banner('idle-expired', 'You were signed out because nothing was sent for ' + Math.round(idle / 60) +
          ' minutes. Press Save or Send as usual: you will sign in again and come back here with what you typed.');
      }, idle * 1000);
    };
    arm();
  }

  var KEY = 'taskforce-keep:';
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !el.hasAttribute('data-secret') && el.type !== 'password' && el.type !== 'file' &&
        el.type !== 'submit' && el.type !== 'button';
    });
  }
  // A result that names the form it answers (`data-saved-form`, say after a
  // registration, when the form is no longer on the page) drops its copy.
  Array.prototype.forEach.call(document.querySelectorAll('[data-saved-form]'), function (el) {
    sessionStorage.removeItem(KEY + el.getAttribute('data-saved-form'));
  });
  Array.prototype.forEach.call(document.querySelectorAll('form[data-keep]'), function (form) {
    var key = KEY + form.getAttribute('action');
    if (document.getElementById('saved')) {
      sessionStorage.removeItem(key);
    } else {
      var kept = sessionStorage.getItem(key);
      if (kept) {
        sessionStorage.removeItem(key);
        var values = JSON.parse(kept);
        // When the server answered the form itself (a field's error), it
        // already shows what was sent: nothing differs, nothing is put back.
        var restored = 0;
        fields(form).forEach(function (el) {
          if (!(el.name in values)) return;
          var v = values[el.name];
          if (el.type === 'checkbox' || el.type === 'radio') {
            var on = Array.isArray(v) && v.indexOf(el.value) >= 0;
            if (el.checked !== on) { el.checked = on; restored++; }
          } else if (el.type !== 'hidden' || el.name === 'idempotency_key') {
            var text = Array.isArray(v) ? v[0] : v;
            if (el.value !== text) {
              el.value = text;
              if (el.type !== 'hidden') restored++;
            }
          }
        });
        if (restored) {
          var note = document.createElement('p');
          note.className = 'hint';
          note.id = 'restored';
          note.setAttribute('role', 'status');
          note.textContent = 'What you typed before signing in again is back. Check it, then send it.';
          form.insertBefore(note, form.firstChild);
        }
      }
    }
    form.addEventListener('submit', function () {
      var values = {};
      fields(form).forEach(function (el) {
        if (el.type === 'checkbox' || el.type === 'radio') {
          values[el.name] = values[el.name] || [];
          if (el.checked) values[el.name].push(el.value);
        } else {
          values[el.name] = el.value;
        }
      });
      try { sessionStorage.setItem(key, JSON.stringify(values)); } catch (e) { /* storage full or off: nothing kept */ }
    });
  });
})();

// "Use my location" on the event form: the phone's own position (GPS works
// without a network), five decimals (about a metre), typed into the fields
// so the officer sees and can correct it. Hidden where there is no
// geolocation.
(function () {
  'use strict';
  if (!('geolocation' in navigator)) return;
  Array.prototype.forEach.call(document.querySelectorAll('[data-geolocate]'), function (button) {
    var box = button.parentElement;
    var status = box.querySelector('[data-geolocate-status]');
    box.hidden = false;
    button.addEventListener('click', function () {
      status.textContent = 'Finding where you are…';
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById('lat').value = pos.coords.latitude.toFixed(5);
        document.getElementById('lon').value = pos.coords.longitude.toFixed(5);
        status.textContent = 'Filled in from this phone (within about ' + Math.round(pos.coords.accuracy) + ' m). Check it on the map after sending.';
      }, function (err) {
        status.textContent = 'No position: ' + err.message + '. Type the latitude and longitude instead.';
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  });
})();

// The phone's menu: folded behind the Menu button, opened and closed by it.
(function () {
  'use strict';
  var toggle = document.querySelector('.menu-toggle');
  var nav = document.getElementById('main-nav');
  if (!toggle || !nav || !window.matchMedia) return;
  var phone = window.matchMedia('(max-width: 40rem)');
  function set(open) {
    nav.classList.toggle('folded', !open);
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  function fit() {
    toggle.hidden = !phone.matches;
    set(!phone.matches);
  }
  toggle.addEventListener('click', function () { set(nav.classList.contains('folded')); });
  if (phone.addEventListener) phone.addEventListener('change', fit);
  fit();
})();
