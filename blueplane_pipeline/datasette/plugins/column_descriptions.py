"""Datasette plugin: table pages open on their rows, not on a screen of column notes.

Every column of Blueplane's tables carries its definition (a metric's formula, a unit),
and Datasette lists them all above the table: ~30 lines before the first row. In the
browser this moves each description onto its column heading (a tooltip, and a dotted
underline that says there is one) and folds the list into a closed "Column descriptions"
section. Without JavaScript the page is as Datasette renders it.
"""

from datasette import hookimpl

SCRIPT = """
(function () {
  var lists = document.querySelectorAll("dl.column-descriptions");
  lists.forEach(function (dl) {
    var notes = {};
    dl.querySelectorAll("dt").forEach(function (dt) {
      var dd = dt.nextElementSibling;
      if (dd && dd.tagName === "DD") { notes[dt.textContent.trim()] = dd.textContent.trim(); }
    });
    document.querySelectorAll("table.rows-and-columns th[data-column]").forEach(function (th) {
      var note = notes[th.getAttribute("data-column")];
      if (note) { th.title = note; th.style.textDecoration = "underline dotted"; }
    });
    var details = document.createElement("details");
    details.className = "blueplane-column-descriptions";
    var summary = document.createElement("summary");
    summary.textContent = "Column descriptions (" + Object.keys(notes).length + ")";
    details.appendChild(summary);
    dl.parentNode.insertBefore(details, dl);
    details.appendChild(dl);
  });
})();
"""


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    if view_name == "table":
        return SCRIPT
    return ""
