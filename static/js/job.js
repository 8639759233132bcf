// Job page enhancements; every action also works as a plain form with JavaScript off.
(function () {
  "use strict";

  // Position at arrival/completion: ask the browser once, wait at most 4 s, then submit anyway.
  document.querySelectorAll("form[data-geo-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.geoDone || !navigator.geolocation) { return; }
      event.preventDefault();
      var submitted = false;
      function go() {
        if (submitted) { return; }
        submitted = true;
        form.dataset.geoDone = "1";
        // requestSubmit: the form's other submit handlers run (the signature, the offline outbox).
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      }
      setTimeout(go, 4000);
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.querySelector('[data-geo="lat"]').value = pos.coords.latitude.toFixed(6);
        form.querySelector('[data-geo="lon"]').value = pos.coords.longitude.toFixed(6);
        go();
      }, go, { enableHighAccuracy: true, timeout: 3500, maximumAge: 60000 });
    });
  });

  // Photos: the number and sizes the server accepts, checked before anything is sent (a refused
  // completion keeps no photo, so finding out after a slow upload would mean sending them again).
  document.querySelectorAll("input[data-photo-limits]").forEach(function (input) {
    function check() {
      var files = input.files || [], message = "";
      if (files.length > Number(input.dataset.maxFiles)) {
        message = input.dataset.tooMany;
      } else if (files.length < Number(input.dataset.minFiles)) {
        message = input.dataset.tooFew;
      } else {
        for (var i = 0; i < files.length; i++) {
          if (files[i].size > Number(input.dataset.maxBytes)) { message = input.dataset.tooLarge; }
        }
      }
      input.setCustomValidity(message);
    }
    input.addEventListener("change", check);
    check();
  });

  // A signature pad: the drawing goes into the hidden signature_data field as a PNG data URL.
  document.querySelectorAll("[data-signature]").forEach(function (box) {
    var form = box.closest("form");
    var canvas = box.querySelector("canvas");
    var field = form.querySelector('input[name$="signature_data"]');
    var ctx = canvas.getContext("2d");
    var drawing = false, drawn = false;
    box.hidden = false;
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    function point(e) {
      var r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
    }
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true; drawn = true;
      var p = point(e); ctx.beginPath(); ctx.moveTo(p.x, p.y);
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) { return; }
      var p = point(e); ctx.lineTo(p.x, p.y); ctx.stroke();
    });
    canvas.addEventListener("pointerup", function () { drawing = false; });
    box.querySelector("[data-signature-clear]").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; field.value = "";
    });
    form.addEventListener("submit", function () {
      if (drawn) { field.value = canvas.toDataURL("image/png"); }
    });
  });
})();
