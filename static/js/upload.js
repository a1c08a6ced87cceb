// Uploads: the one thing htmx cannot do (byte-level progress). Files go to POST /api/files/ in
// small batches over a bounded number of parallel requests; each file shows its own progress and
// the server's verdict; a failed file can be retried on its own. Folder uploads (the webkitdirectory
// input or a dropped directory) send each file's relative path so the server recreates the folders.
(function () {
  "use strict";

  const PARALLEL_REQUESTS = 4;
  const FILES_PER_REQUEST = 4;
  const BYTES_PER_REQUEST = 8 * 1024 * 1024;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  // The name sent with the bytes: Django refuses a part whose headers pass 1 KB, so a very long
  // name is cut (keeping its extension) to what the server would keep anyway (255 characters).
  const MAX_NAME_CHARS = 255;
  const MAX_NAME_BYTES = 700;
  function wireName(name) {
    const encoder = new TextEncoder();
    const chars = Array.from(name);
    if (chars.length <= MAX_NAME_CHARS && encoder.encode(name).length <= MAX_NAME_BYTES) return name;
    const dot = name.lastIndexOf(".");
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
    const stem = Array.from(ext ? name.slice(0, dot) : name);
    while (stem.length && (stem.length + ext.length > MAX_NAME_CHARS || encoder.encode(stem.join("") + ext).length > MAX_NAME_BYTES)) {
      stem.pop();
    }
    return stem.join("") + ext;
  }

  function formatBytes(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  // Every file of a dropped directory, with its path relative to the drop ("trip/day1/a.jpg").
  async function entriesToItems(entries) {
    const items = [];
    async function walk(entry) {
      if (entry.isFile) {
        const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
        const path = entry.fullPath.replace(/^\/+/, "");
        items.push({ file, relativePath: path.includes("/") ? path : "" });
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        // readEntries returns at most ~100 entries per call: read until it returns none.
        for (;;) {
          const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
          if (!batch.length) break;
          for (const child of batch) await walk(child);
        }
      }
    }
    for (const entry of entries) await walk(entry);
    return items;
  }

  class Uploader {
    constructor(root) {
      this.root = root;
      this.endpoint = root.dataset.endpoint || "/api/files/";
      this.list = root.querySelector("[data-upload-list]");
      this.summary = root.querySelector("[data-upload-summary]");
      this.overall = root.querySelector("[data-overall]");
      this.overallText = root.querySelector("[data-overall-text]");
      this.items = [];
      this.queue = [];
      this.active = 0;
      root.querySelector("[data-file-input]").addEventListener("change", (e) => this.fromInput(e.target));
      root.querySelector("[data-folder-input]").addEventListener("change", (e) => this.fromInput(e.target));
    }

    fromInput(input) {
      const folderId = this.root.dataset.folderId || "";
      this.add(Array.from(input.files).map((file) => ({ file, relativePath: file.webkitRelativePath || "" })), folderId);
      input.value = "";
    }

    add(entries, folderId) {
      for (const entry of entries) {
        const item = { ...entry, folderId, loaded: 0, status: "queued", row: null };
        item.row = this.renderRow(item);
        this.items.push(item);
        this.queue.push(item);
      }
      this.summary.hidden = false;
      this.update();
      this.pump();
    }

    renderRow(item) {
      const li = document.createElement("li");
      li.className = "upload-item";
      li.dataset.status = "queued";
      const name = document.createElement("span");
      name.className = "upload-name";
      name.textContent = item.relativePath || item.file.name;  // text, never HTML
      const bar = document.createElement("progress");
      bar.max = item.file.size || 1;
      bar.value = 0;
      bar.setAttribute("aria-label", `Upload progress of ${item.file.name}`);
      const status = document.createElement("span");
      status.className = "upload-status";
      status.textContent = `Waiting · ${formatBytes(item.file.size)}`;
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "button small";
      retry.textContent = "Retry";
      retry.hidden = true;
      retry.setAttribute("aria-label", `Retry ${item.file.name}`);
      retry.addEventListener("click", () => this.retry(item));
      li.append(name, bar, status, retry);
      this.list.append(li);
      item.bar = bar;
      item.statusText = status;
      item.retryButton = retry;
      return li;
    }

    setStatus(item, status, text, retryable) {
      item.status = status;
      item.row.dataset.status = status;
      item.statusText.textContent = text;
      item.retryButton.hidden = !retryable;
      if (status === "done") item.bar.value = item.bar.max;
    }

    retry(item) {
      item.loaded = 0;
      item.bar.value = 0;
      this.setStatus(item, "queued", "Waiting", false);
      this.queue.push(item);
      this.update();
      this.pump();
    }

    nextBatch() {
      const batch = [];
      let bytes = 0;
      while (this.queue.length && batch.length < FILES_PER_REQUEST) {
        const next = this.queue[0];
        if (batch.length && (bytes + next.file.size > BYTES_PER_REQUEST || next.folderId !== batch[0].folderId)) break;
        batch.push(this.queue.shift());
        bytes += next.file.size;
      }
      return batch;
    }

    pump() {
      while (this.active < PARALLEL_REQUESTS && this.queue.length) this.send(this.nextBatch());
      if (this.active === 0 && !this.queue.length) this.finished();
    }

    send(batch) {
      this.active += 1;
      const data = new FormData();
      if (batch[0].folderId) data.append("folder_id", batch[0].folderId);
      for (const item of batch) {
        data.append("files", item.file, wireName(item.file.name));
        data.append("relative_path", item.relativePath);  // aligned with files, "" for none
        this.setStatus(item, "uploading", "Uploading…", false);
      }
      const batchBytes = batch.reduce((sum, item) => sum + item.file.size, 0);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.endpoint);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        // Share the request's bytes out over its files in order (multipart overhead scaled away).
        let sent = (event.loaded / event.total) * batchBytes;
        for (const item of batch) {
          item.loaded = Math.min(item.file.size, Math.max(0, sent));
          item.bar.value = item.loaded;
          sent -= item.file.size;
        }
        this.update();
      });
      xhr.addEventListener("load", () => this.settle(batch, xhr));
      xhr.addEventListener("error", () => this.fail(batch, "Network error — check the connection and retry.", true));
      xhr.addEventListener("abort", () => this.fail(batch, "Upload cancelled.", true));
      xhr.send(data);
    }

    settle(batch, xhr) {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch (error) {
        body = {};
      }
      // A 503 with a report (the storage went down mid-request): the files it lists are stored
      // or rejected for good; the others fail with its reason and can be retried.
      const partial = xhr.status === 503 && Array.isArray(body.files);
      if ((xhr.status < 200 || xhr.status >= 300) && !partial) {
        const reason = body.error || body.detail || `The server refused the upload (HTTP ${xhr.status}).`;
        // 5xx, 408 and 429 are worth another try; other refusals are about the request itself.
        const retryable = xhr.status >= 500 || xhr.status === 408 || xhr.status === 429 || xhr.status === 0;
        this.fail(batch, typeof reason === "string" ? reason : JSON.stringify(reason), retryable);
        return;
      }
      const notReported = partial ? body.error : "The server did not report on this file; retry it.";
      // The server answers per file by `index` (its position in this request): names may have
      // been made safe (spaces, Unicode normalisation, length), so they cannot be matched on.
      const byIndex = (list) => new Map((Array.isArray(list) ? list : []).map((entry) => [entry.index, entry]));
      const errors = byIndex(body.errors);
      const stored = byIndex(body.files);
      batch.forEach((item, index) => {
        const rejection = errors.get(index);
        const match = stored.get(index);
        if (rejection) {
          this.setStatus(item, "rejected", rejection.error || "Rejected by the server.", false);
        } else if (match) {
          const renamed = match.name !== item.file.name ? ` as “${match.name}”` : "";
          const text = match.duplicate ? "Uploaded (same bytes as an existing file)" : "Uploaded";
          this.setStatus(item, "done", text + renamed, false);
        } else {
          this.setStatus(item, "failed", notReported, true);
        }
      });
      this.active -= 1;
      this.update();
      this.pump();
    }

    fail(batch, reason, retryable) {
      for (const item of batch) this.setStatus(item, "failed", reason, retryable);
      this.active -= 1;
      this.update();
      this.pump();
    }

    update() {
      const total = this.items.reduce((sum, item) => sum + item.file.size, 0) || 1;
      const loaded = this.items.reduce(
        (sum, item) => sum + (item.status === "done" || item.status === "rejected" ? item.file.size : item.loaded), 0);
      const count = (status) => this.items.filter((item) => item.status === status).length;
      this.overall.value = Math.round((loaded / total) * 100);
      const parts = [`${count("done")} of ${this.items.length} uploaded`];
      if (count("rejected")) parts.push(`${count("rejected")} rejected`);
      if (count("failed")) parts.push(`${count("failed")} failed`);
      this.overallText.textContent = parts.join(", ");
      this.root.dataset.state = this.active || this.queue.length ? "uploading" : "idle";
    }

    finished() {
      this.update();
      if (this.items.some((item) => item.status === "done") && window.mediaflow && window.mediaflow.refreshListing) {
        window.mediaflow.refreshListing();
      }
      this.root.dispatchEvent(new CustomEvent("mediaflow:uploaded", { bubbles: true }));
    }
  }

  function init() {
    const uploaders = Array.from(document.querySelectorAll("[data-uploader]")).map((root) => new Uploader(root));
    if (!uploaders.length) return;
    const uploader = uploaders[0];
    document.querySelectorAll("[data-upload-zone]").forEach((zone) => {
      zone.addEventListener("dragover", (event) => {
        if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
        event.preventDefault();
        zone.classList.add("dragging");
        document.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
        const folder = event.target.closest && event.target.closest("[data-drop-folder]");
        if (folder) folder.classList.add("drop-target");
      });
      zone.addEventListener("dragleave", (event) => {
        if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
      });
      zone.addEventListener("drop", async (event) => {
        event.preventDefault();
        zone.classList.remove("dragging");
        document.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
        // Dropped onto a folder (tile or tree) goes into that folder; anywhere else, this folder.
        const folder = event.target.closest && event.target.closest("[data-drop-folder]");
        const folderId = folder ? folder.dataset.dropFolder : zone.dataset.folderId || "";
        const transfer = event.dataTransfer;
        const entries = Array.from(transfer.items || [])
          .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
          .filter(Boolean);
        const items = entries.length
          ? await entriesToItems(entries)
          : Array.from(transfer.files).map((file) => ({ file, relativePath: "" }));
        const panel = document.getElementById("upload-panel");
        if (panel) panel.hidden = false;
        uploader.add(items, folderId);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
