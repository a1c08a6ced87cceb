// Selection in the file manager: what htmx cannot do on its own.
// - shift-click ranges of checkboxes, "select all loaded", "select all N in this folder";
// - the bulk form carries either the ticked ids (one comma-separated field, never thousands of
//   fields, never in a URL) or scope=all, which the server resolves from folder + filter;
// - dialogs open modally; when a job started from this page finishes, the listing refreshes.
(function () {
  "use strict";

  // A job card says it is final with `data-finished` (rendered from jobs.models.Job.FINISHED).
  const isFinished = (card) => card.hasAttribute("data-finished");
  let lastClicked = null;

  function listing() { return document.getElementById("listing-state"); }
  function form() { return document.getElementById("bulk-form"); }
  function boxes() { return Array.from(document.querySelectorAll("#listing .select-file")); }

  function refreshListing() {
    if (!document.getElementById("listing") || !window.htmx) return;
    window.htmx.ajax("GET", window.location.pathname + window.location.search,
      { target: "#listing", swap: "innerHTML" });
  }

  function render() {
    const f = form();
    const state = listing();
    if (!f || !state) return;
    const all = f.querySelector("[data-scope]").value === "all";
    const list = boxes();
    const checked = list.filter((b) => b.checked);
    const total = parseInt(state.dataset.total || "0", 10);
    const count = all ? total : checked.length;
    f.querySelector("[data-file-ids]").value = all ? "" : checked.map((b) => b.value).join(",");
    f.querySelectorAll("[data-needs-selection]").forEach((button) => { button.disabled = count === 0; });
    const label = f.querySelector("[data-selected-count]");
    if (count > 0) {
      label.textContent = all ? `All ${total.toLocaleString()} selected` : `${count.toLocaleString()} selected`;
    } else {
      label.textContent = `${total.toLocaleString()} file${total === 1 ? "" : "s"}`;
    }
    const loadedAll = list.length > 0 && checked.length === list.length;
    const selectLoaded = f.querySelector("[data-select-loaded]");
    if (selectLoaded) {
      selectLoaded.checked = loadedAll;
      selectLoaded.indeterminate = checked.length > 0 && !loadedAll;
    }
    const offer = f.querySelector("[data-select-all-offer]");
    if (offer) offer.hidden = all || !loadedAll || total <= list.length;
    f.querySelector("[data-clear-selection]").hidden = count === 0;
    list.forEach((b) => b.closest(".file").classList.toggle("selected", b.checked));
  }

  function setScope(value) {
    const f = form();
    if (f) f.querySelector("[data-scope]").value = value;
  }

  function clearSelection() {
    setScope("ids");
    boxes().forEach((b) => { b.checked = false; });
    lastClicked = null;
    render();
  }

  document.addEventListener("click", (event) => {
    const target = event.target;
    if (target.matches && target.matches("#listing .select-file")) {
      const list = boxes();
      if (event.shiftKey && lastClicked && list.includes(lastClicked)) {
        const [a, b] = [list.indexOf(lastClicked), list.indexOf(target)].sort((x, y) => x - y);
        for (let i = a; i <= b; i += 1) list[i].checked = target.checked;
      }
      lastClicked = target;
      setScope("ids");  // changing ticks by hand leaves "all in this folder"
      render();
      return;
    }
    if (target.closest("[data-select-all]")) {
      setScope("all");
      boxes().forEach((b) => { b.checked = true; });
      render();
      return;
    }
    if (target.closest("[data-clear-selection]")) { clearSelection(); return; }
    if (target.closest("[data-close-dialog]")) { closeDialog(target.closest("dialog")); return; }
    if (target.closest("[data-close-detail]")) {
      const panel = document.getElementById("detail-panel");
      if (panel) { panel.innerHTML = ""; panel.classList.remove("open"); }
      return;
    }
    const toggle = target.closest("[data-toggle-upload]");
    if (toggle) {
      const panel = document.getElementById("upload-panel");
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
    }
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("[data-select-loaded]")) {
      setScope("ids");
      boxes().forEach((b) => { b.checked = event.target.checked; });
      render();
    }
  });

  function closeDialog(dialog) {
    if (!dialog) return;
    if (dialog.open) dialog.close();
    const slot = document.getElementById("dialog-slot");
    if (slot && slot.contains(dialog)) slot.innerHTML = "";
  }

  function openDialogs(root) {
    root.querySelectorAll("dialog[data-dialog]").forEach((dialog) => {
      if (dialog.dataset.modal) return;
      dialog.dataset.modal = "1";
      // Dialogs arrive closed and open modally here (calling close() first would queue a
      // "close" event that empties the slot right after).
      if (dialog.open) dialog.removeAttribute("open");
      dialog.showModal();
      dialog.addEventListener("close", () => closeDialog(dialog));
      const first = dialog.querySelector("[autofocus], select, input:not([type=hidden]), button[type=submit]");
      if (first) first.focus();
    });
  }

  // A job card in #page-jobs that reaches a final state refreshes the listing once.
  const finished = new Set();
  function watchJobs() {
    const area = document.getElementById("page-jobs");
    if (!area) return;
    const check = () => {
      area.querySelectorAll("[id^='job-'][data-status]").forEach((card) => {
        // The websocket may deliver a fast job's last updates before this page's POST answered,
        // to a twin of the card (the jobs panel): take the newer card (higher seq) from there.
        const twin = Array.from(document.querySelectorAll(`[id="${card.id}"]`)).find((el) => !area.contains(el)
          && Number(el.dataset.seq) > Number(card.dataset.seq));
        if (twin) {
          const copy = twin.cloneNode(true);
          card.replaceWith(copy);
          card = copy;
        }
        if (isFinished(card) && !finished.has(card.id)) {
          finished.add(card.id);
          refreshListing();
        }
      });
    };
    new MutationObserver(check).observe(area, {
      subtree: true, childList: true, attributes: true, attributeFilter: ["data-status", "data-finished"],
    });
    // htmx's out-of-band swaps replace the card element elsewhere too; check after every swap.
    document.body.addEventListener("htmx:oobAfterSwap", check);
    document.body.addEventListener("htmx:wsAfterMessage", check);
  }

  // Thumbnails appear as a `thumbnails` job makes them: each progress card of such a job (pushed
  // over the websocket, at most a few a second) reloads the tiles still showing the "being made"
  // placeholder, at most once every 1.5 s; when the job ends they are reloaded a last time.
  let lastThumbReload = 0;
  function reloadPendingThumbnails(force) {
    const now = Date.now();
    if (!force && now - lastThumbReload < 1500) return;
    lastThumbReload = now;
    document.querySelectorAll("img[data-thumb-pending]").forEach((img) => {
      const base = img.getAttribute("src").split("?")[0];
      img.setAttribute("src", `${base}?v=${now}`);
      if (force) img.removeAttribute("data-thumb-pending");
    });
  }
  function watchThumbnailJobs() {
    document.body.addEventListener("htmx:wsAfterMessage", () => {
      const cards = document.querySelectorAll("[id^='job-'][data-kind='thumbnails']");
      if (!cards.length) return;
      const running = Array.from(cards).some((card) => !isFinished(card));
      reloadPendingThumbnails(!running);
    });
  }

  function init() {
    if (window.htmx) {
      // The server answers a refused form with 422 and the form again (errors shown in place).
      const handling = window.htmx.config.responseHandling;
      if (Array.isArray(handling) && !handling.some((rule) => rule.code === "422")) {
        handling.unshift({ code: "422", swap: true, error: false });
      }
    }
    document.body.addEventListener("htmx:afterSwap", (event) => {
      const target = event.detail.target;
      if (target.id === "listing") { lastClicked = null; render(); }
      if (target.id === "dialog-slot") openDialogs(target);
      if (target.id === "detail-panel") target.classList.add("open");
      if (target.closest && target.closest("#file-list")) {
        // Rows appended by infinite scroll join a "select all in this folder" selection.
        const f = form();
        if (f && f.querySelector("[data-scope]").value === "all") boxes().forEach((b) => { b.checked = true; });
        render();
      }
    });
    document.body.addEventListener("htmx:afterRequest", (event) => {
      const elt = event.detail.elt;
      const accepted = event.detail.xhr && event.detail.xhr.status === 202;
      if (elt && elt.matches && elt.matches("[data-action-form]") && accepted) clearSelection();
    });
    watchJobs();
    watchThumbnailJobs();
    render();
  }

  window.mediaflow = Object.assign(window.mediaflow || {}, { refreshListing, clearSelection });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
