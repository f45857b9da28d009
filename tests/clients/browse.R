# What R users run against `stream --pg` with RPostgreSQL (DBI), run by the
# integration test `clients::` (tests/it/clients.rs):
#
#     Rscript tests/clients/browse.R PORT
#
# Prints one JSON object (written here: no JSON package is needed); a step
# that fails has {"error": "..."} instead of its answer.
suppressPackageStartupMessages(library(RPostgreSQL))

json <- function(v) {
  if (is.null(v)) return("null")
  if (is.list(v)) {
    items <- vapply(names(v), function(n) paste0("\"", n, "\": ", json(v[[n]])), "")
    return(paste0("{", paste(items, collapse = ", "), "}"))
  }
  if (is.character(v)) {
    v <- gsub("\\\\", "\\\\\\\\", v)
    v <- gsub("\"", "\\\\\"", v)
    v <- gsub("\n", "\\\\n", v)
    v <- paste0("\"", v, "\"")
  } else if (is.logical(v)) {
    v <- ifelse(v, "true", "false")
  } else {
    v <- format(v, scientific = FALSE, trim = TRUE)
  }
  paste0("[", paste(v, collapse = ", "), "]")
}

con <- dbConnect(PostgreSQL(), host = "127.0.0.1", port = as.integer(commandArgs(TRUE)[1]),
                 user = "tweetstream", dbname = "tweetstream")
steps <- list(
  tables = function() sort(dbListTables(con)),
  fields = function() dbListFields(con, "sentiment_by_day"),
  exists = function() c(dbExistsTable(con, "tag_totals"), dbExistsTable(con, "no_such_table")),
  top = function() {
    df <- dbGetQuery(con, "select tag, count from tag_totals order by count desc, tag limit 5")
    list(tag = df$tag, count = df$count, class = class(df$count))
  },
  days = function() {
    df <- dbReadTable(con, "sentiment_by_day")
    list(date = df$date, score_count = df$score_count)
  }
)
out <- list()
for (name in names(steps)) {
  out[[name]] <- tryCatch(steps[[name]](), error = function(e) list(error = conditionMessage(e)))
}
cat(json(out), "\n")
invisible(dbDisconnect(con))
