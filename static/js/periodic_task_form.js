// The periodic-task admin form: the chosen crontab schedule is spelled out under its field (the
// words come from the server, in the #readable-crontabs JSON). A static file, not an inline
// script, so the Content-Security-Policy lets it run.
(function () {
  "use strict";

  const script = document.currentScript;
  const data = document.getElementById("readable-crontabs");
  const select = document.getElementById("id_crontab");
  const help = document.querySelector(".field-crontab .help");
  if (!script || !data || !select) return;
  const readable = JSON.parse(data.textContent);

  for (const row of document.querySelectorAll(".field-crontab_translation")) row.hidden = true;

  function showInWords() {
    if (!help) return;
    const words = readable[select.value];
    help.replaceChildren(script.dataset.crontabHelp || "");
    if (words) help.append(document.createElement("br"), `${script.dataset.label}: ${words}`);
  }

  select.addEventListener("change", showInWords);
})();
