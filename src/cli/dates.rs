//! `--date-format`, on the commands that read dates from files and sockets
//! (`stream`, `replay`, `load`, `lab`). `produce` has a flag of that name of
//! its own: how it writes dates into messages.

#[derive(clap::Args, Clone, Debug, Default)]
pub struct DateArgs {
    /// Read dates in this form (strftime fields: `%d/%m/%Y %H:%M`, `%Y%m%d`,
    /// `%d.%m.%Y %H:%M:%S %z`) before the built-in ones (Twitter's
    /// created_at, ISO 8601, epoch milliseconds, MM/DD/YYYY): with %z the
    /// moment it names, else a time in UTC, else a day.
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<String>,
}

impl DateArgs {
    /// Sets the form for the whole run; a form that is not one is an error.
    pub fn install(&self) -> anyhow::Result<()> {
        match &self.date_format {
            Some(format) => crate::tweet::date::set_format(format).map_err(anyhow::Error::msg),
            None => Ok(()),
        }
    }
}
