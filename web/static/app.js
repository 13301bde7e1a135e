/* Progressive enhancements for the recommender's pages (no framework, no network beyond the app).
 *
 * Every page works without this file. With it:
 *  - search boxes ([data-search]) suggest bodies as you type (an ARIA 1.2 combobox with a listbox:
 *    arrow keys move, Enter opens, Escape closes);
 *  - a body's filter form ([data-filters]) updates the results in place (the server renders them
 *    alone with ?fragment=1), keeps the URL in step and announces the new summary;
 *  - feedback forms ([data-feedback]) post to the JSON API and show the outcome inline;
 *  - a scenario's form ([data-assign]) lets a click on a council of its map choose its new unitary.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // Search suggestions --------------------------------------------------------------------------

  function describeHit(hit) {
    if (hit.abolished && hit.successors.length) {
      var names = hit.successors.map(function (s) { return s.name; }).join(", ");
      return hit.matched + " (abolished): now " + names;
    }
    var kind = { council: "Council", fire: "Fire", police: "Police", health: "NHS", combined: "Combined authority" }[hit.kind] || hit.kind;
    var matched = hit.alias_type === "code" ? hit.codes[0] : hit.matched;
    return matched && matched !== hit.display_name ? kind + ", matched \u201c" + matched + "\u201d" : kind;
  }

  function setupSearch(form) {
    var input = form.querySelector("input[name=q]");
    var row = input.parentNode;
    var suggestUrl = form.getAttribute("data-suggest-url");
    var bodyUrl = form.getAttribute("data-body-url");
    var searchUrl = form.getAttribute("action");
    if (!input || !suggestUrl || !bodyUrl) { return; }

    var list = document.createElement("ul");
    list.id = input.id + "-listbox";
    list.className = "suggest-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggested bodies");
    list.hidden = true;
    row.appendChild(list);

    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    form.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    var items = [];
    var active = -1;
    var pending = null;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.children;
      if (!options.length) { return; }
      active = (index + options.length) % options.length;
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }

    function choose(index) {
      var item = items[index];
      if (item) { window.location.assign(item.url); }
    }

    function show(results) {
      items = results.map(function (hit) {
        var former = hit.alias_type === "former" || hit.alias_type === "nhs_predecessor";
        var url = hit.codes.length === 1
          ? bodyUrl.replace("__CODE__", encodeURIComponent(hit.codes[0])) +
            (former ? "?from=" + encodeURIComponent(hit.matched) : "")
          : searchUrl + "?q=" + encodeURIComponent(hit.matched);
        return { label: hit.display_name, detail: describeHit(hit), url: url };
      });
      list.textContent = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = item.label;
        var detail = document.createElement("span");
        detail.className = "detail";
        detail.textContent = item.detail;
        li.appendChild(detail);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep focus in the input until we navigate
          choose(i);
        });
        list.appendChild(li);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = items.length + (items.length === 1 ? " suggestion" : " suggestions") +
          ": use the up and down arrows to choose, Enter to open.";
      } else {
        close();
        status.textContent = "No body matches. Press Enter to search.";
      }
    }

    var suggest = debounce(function () {
      var q = input.value.trim();
      if (q.length < 2) { close(); items = []; return; }
      if (pending) { pending.abort(); }
      pending = new AbortController();
      var url = suggestUrl + "?limit=8&q=" + encodeURIComponent(q);
      fetch(url, { signal: pending.signal, headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (input.value.trim() === q) { show(data.results || []); } })
        .catch(function (error) { if (error.name !== "AbortError") { close(); } });
    }, DEBOUNCE_MS);

    input.addEventListener("input", suggest);
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open && items.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (open) { highlight(active - 1); }
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        if (open) { event.preventDefault(); close(); } else { input.value = ""; }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  // A body's results, updated in place -----------------------------------------------------------

  function query(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim() !== "") { params.append(key, value); }
    });
    return params.toString();
  }

  function setupFilters(form) {
    var results = document.getElementById("results");
    var status = document.getElementById("results-status");
    if (!results) { return; }
    var base = form.getAttribute("action");
    var latest = 0;

    function load(qs, push) {
      var page = base + (qs ? "?" + qs : "");
      var ticket = ++latest;
      results.setAttribute("aria-busy", "true");
      return fetch(base + "?" + (qs ? qs + "&" : "") + "fragment=1", { headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.text();
        })
        .then(function (html) {
          if (ticket !== latest) { return; }
          results.innerHTML = html;
          var here = window.location.pathname + window.location.search;
          if (push && page !== here) { window.history.pushState({ filters: qs }, "", page); }
          var summary = results.querySelector("[data-summary]");
          if (status && summary) { status.textContent = summary.getAttribute("data-summary"); }
        })
        .catch(function () { window.location.assign(page); }) // let the page say what went wrong
        .then(function () { if (ticket === latest) { results.removeAttribute("aria-busy"); } });
    }

    function submit() {
      if (form.checkValidity && !form.checkValidity()) { return false; }
      load(query(form), true);
      return true;
    }

    form.addEventListener("submit", function (event) {
      if (form.checkValidity && !form.checkValidity()) { return; }
      event.preventDefault();
      submit();
    });
    form.addEventListener("change", debounce(submit, DEBOUNCE_MS));

    window.addEventListener("popstate", function () {
      var params = new URLSearchParams(window.location.search);
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name) { return; }
        if (field.type === "checkbox") {
          field.checked = params.getAll(field.name).indexOf(field.value) >= 0;
        } else if (field.tagName === "SELECT" || field.type === "number" || field.type === "text") {
          // Absent from the URL: the field's default (a select's first option, the served k).
          var absent = field.getAttribute("data-default") ||
            (field.tagName === "SELECT" && field.options.length ? field.options[0].value : "");
          field.value = params.has(field.name) ? params.get(field.name) : absent;
        }
      });
      load(params.toString(), false);
    });
  }

  // Feedback ------------------------------------------------------------------------------------

  function setupFeedback() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches || !form.matches("form[data-feedback]")) { return; }
      var api = form.getAttribute("data-api");
      if (!api || !window.fetch) { return; }
      event.preventDefault();
      var out = form.querySelector(".feedback-result");
      var button = form.querySelector("button[type=submit]");
      var data = new FormData(form);
      var payload = {
        body: form.getAttribute("data-body"),
        partner: data.get("partner"),
        service: data.get("service"),
        verdict: data.get("verdict"),
        comment: data.get("comment") || ""
      };
      button.disabled = true;
      out.className = "feedback-result";
      out.textContent = "Sending\u2026";
      fetch(api, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload)
      })
        .then(function (response) {
          return response.json().then(function (json) { return { ok: response.ok, json: json }; });
        })
        .then(function (result) {
          if (result.ok) {
            out.className = "feedback-result ok";
            out.textContent = "Thank you: your feedback was recorded.";
          } else {
            out.className = "feedback-result bad";
            out.textContent = "Not recorded: " + (result.json.detail || "please try again") + ".";
            button.disabled = false;
          }
        })
        .catch(function () {
          out.className = "feedback-result bad";
          out.textContent = "Not recorded: the service could not be reached. Please try again.";
          button.disabled = false;
        });
    });
  }

  // Maps: select a body (or an arrangement) to open its page -----------------------------------
  // The SVG is an image to assistive technology and holds hundreds of shapes, so they are not
  // links (no tab stops); the tables beside the maps link everything for the keyboard.

  function setupMapLinks() {
    document.addEventListener("click", function (event) {
      var figure = event.target.closest && event.target.closest("figure[data-map-link]");
      if (!figure) { return; }
      var template = figure.getAttribute("data-map-link");
      var group = event.target.closest(".arrangement[data-id]");
      var shape = event.target.closest("[data-code]");
      if (group && template.indexOf("__ID__") >= 0) {
        window.location.assign(template.replace("__ID__", encodeURIComponent(group.getAttribute("data-id"))));
      } else if (shape && template.indexOf("__CODE__") >= 0) {
        window.location.assign(template.replace("__CODE__", encodeURIComponent(shape.getAttribute("data-code"))));
      }
    });
  }

  // The explorer: pointing at (or tabbing to) a row picks its arrangement out on the map ------

  function setupRowPicking() {
    var map = document.querySelector("figure[data-map-link] svg");
    if (!map) { return; }
    function pick(row, on) {
      var id = row && row.getAttribute("data-id");
      if (!id) { return; }
      Array.prototype.forEach.call(map.querySelectorAll(".arrangement"), function (group) {
        if (group.getAttribute("data-id") === id) { group.classList.toggle("picked", on); }
      });
      row.classList.toggle("picked", on);
      map.classList.toggle("picking", on && !!map.querySelector(".arrangement.picked"));
    }
    ["mouseover", "focusin"].forEach(function (name) {
      document.addEventListener(name, function (event) {
        pick(event.target.closest && event.target.closest("tr[data-id]"), true);
      });
    });
    ["mouseout", "focusout"].forEach(function (name) {
      document.addEventListener(name, function (event) {
        pick(event.target.closest && event.target.closest("tr[data-id]"), false);
      });
    });
  }

  // Briefing download: say it takes a moment ---------------------------------------------------

  function setupBriefing() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-briefing]");
      var status = document.getElementById("results-status");
      if (link && status) {
        status.textContent = "Preparing the briefing; the download starts in a few seconds.";
      }
    });
  }

  // A scenario's form: a click on a council of the map chooses its new unitary --------------
  // The selects beside the map stay the form (and all a keyboard or a screen reader needs);
  // the map only sets them, and shows each council in its new unitary's colour.

  function setupAssign(figure) {
    var form = figure.closest("form");
    var picker = document.getElementById("assign-picker");
    var status = document.getElementById("assign-status");
    if (!form || !picker) { return; }
    picker.hidden = false;
    var colours = {};
    (figure.getAttribute("data-colours") || "").split(",").forEach(function (pair) {
      var parts = pair.split(":");
      if (parts.length === 2) { colours[parts[0]] = parts[1]; }
    });

    function paint(code) {
      var select = document.getElementById("c-" + code);
      var shape = figure.querySelector('[data-code="' + code + '"]');
      if (!select || !shape) { return; }
      var county = select.getAttribute("data-county");
      var value = select.value || (county ? (document.getElementById("county-" + county + "-select") || {}).value : "");
      if (value && colours[value]) { shape.setAttribute("fill", colours[value]); } else { shape.removeAttribute("fill"); }
    }

    function paintAll() {
      Array.prototype.forEach.call(form.querySelectorAll("select[id^=c-]"), function (select) {
        paint(select.id.slice(2));
      });
    }

    figure.addEventListener("click", function (event) {
      var shape = event.target.closest && event.target.closest("[data-code]");
      if (!shape) { return; }
      var code = shape.getAttribute("data-code");
      var select = document.getElementById("c-" + code);
      var chosen = picker.querySelector("input[name=assign]:checked");
      if (!select || !chosen) { return; }
      select.value = chosen.value;
      var group = select.closest("details");
      if (group) { group.open = true; }
      paint(code);
      if (status) {
        var label = chosen.value ? chosen.parentNode.textContent.trim() : "not reorganised";
        status.textContent = shape.querySelector("title").textContent + ": " + label;
      }
    });
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") { paintAll(); }
    });
    paintAll();
  }

  document.documentElement.classList.add("js");

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-search]"), setupSearch);
    var filters = document.querySelector("form[data-filters]");
    if (filters) { setupFilters(filters); }
    setupFeedback();
    setupBriefing();
    setupMapLinks();
    Array.prototype.forEach.call(document.querySelectorAll("figure[data-assign]"), setupAssign);
    setupRowPicking();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
