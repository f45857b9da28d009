//! `--track` and `--lang`, the same two flags on every command that selects
//! posts (`stream`, `live`, `replay`, `produce`).

use crate::transforms::select::Select;
use crate::transforms::track::Track;
use crate::tweet::lang::LangFilter;
use std::sync::Arc;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct SelectArgs {
    /// Keep only the posts matching any of these comma-separated phrases, as
    /// the streaming API's `track` does: every term of a phrase, in any order,
    /// ignoring case, as a word with only punctuation around it
    /// (`--track 'u.s.,delta air'`). In `stream`, the others count in
    /// `batches.filtered`.
    #[arg(long, value_name = "PHRASES", value_parser = super::values::track)]
    pub track: Option<Arc<Track>>,

    /// Keep only the posts in these comma-separated languages: BCP 47 tags as
    /// the sources give them (`--lang en,pt`, `--lang es`); `pt` also keeps
    /// `pt-BR`, and `und` keeps the posts that name no language. In `stream`,
    /// the others count in `batches.filtered`, and the `languages` table
    /// counts every post.
    #[arg(long, value_name = "LANGS", value_parser = super::values::lang)]
    pub lang: Option<Arc<LangFilter>>,
}

impl SelectArgs {
    pub fn select(&self) -> Select {
        Select { track: self.track.clone(), lang: self.lang.clone() }
    }
}
