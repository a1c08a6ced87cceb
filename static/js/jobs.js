// A card pushed for a job this page does not show yet (a job started in another tab) has no
// out-of-band target; htmx can't insert it by itself, so add it to the jobs panel.
document.addEventListener("htmx:oobErrorNoTarget", function (event) {
  var card = event.detail.content;
  var list = document.getElementById("jobs-panel-list");
  if (!list || !card || !card.classList || !card.classList.contains("job-card")) return;
  list.prepend(card);
  htmx.process(card);
});
