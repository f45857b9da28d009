//! Sentiment scoring, two models, each a faithful port of its Python reference:
//! [`vader`] (vaderSentiment 3.3.2's compound score, the default) and
//! [`textblob`] (TextBlob 0.20.1's polarity, the measure of the Kafka/MongoDB
//! lab's notebook). [`Model`] names the choice a run makes.

pub(crate) mod pystr;
pub mod textblob;
pub mod vader;
pub(crate) mod word_table;

/// Which measure a run scores tweets with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Model {
    /// VADER's compound score, rounded to 4 decimals.
    #[default]
    Vader,
    /// TextBlob's polarity (`TextBlob(text).sentiment.polarity`).
    TextBlob,
}

impl Model {
    /// The name in tables, logs and stored results.
    pub fn name(self) -> &'static str {
        match self {
            Model::Vader => "vader",
            Model::TextBlob => "textblob",
        }
    }

    /// What the score is, for titles and axes.
    pub fn measure(self) -> &'static str {
        match self {
            Model::Vader => "VADER compound",
            Model::TextBlob => "TextBlob polarity",
        }
    }

    /// The model of a stored name.
    pub fn from_name(name: &str) -> Option<Model> {
        match name {
            "vader" => Some(Model::Vader),
            "textblob" => Some(Model::TextBlob),
            _ => None,
        }
    }
}
