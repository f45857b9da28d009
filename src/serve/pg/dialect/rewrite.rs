//! The rewriting rules of [`super::translate`], one function each, applied
//! token by token: a rule rewrites the output pieces of the tokens it
//! matched and either lets the next rules see the same token, or says where
//! to go on (after the tokens it consumed).

use super::lex::{self, Kind, Token};
use super::{
    BARE_CALLS, ParamType, Target, Translated, Untranslatable, cast_target, compared_column, day_literal,
    depth_between, is_keyword, matching, operand_start, quote, type_name,
};
use std::collections::HashMap;

/// What a rule did: `Some(k)` consumed the tokens before `k` (the next
/// significant one to look at); `None` leaves the token to the next rules.
type Step = Result<Option<usize>, Untranslatable>;

/// A statement being translated: its tokens, the significant ones (no
/// spaces or comments) by index, and the output piece of each token.
pub(super) struct Rewriter<'a, 's> {
    tokens: Vec<Token<'a>>,
    sig: Vec<usize>,
    out: Vec<String>,
    params: Vec<ParamType>,
    counts: Vec<usize>,
    /// Where a rewritten operand (a cast's result) that ends at a token began.
    groups: HashMap<usize, usize>,
    setting: &'s dyn Fn(&str) -> Option<String>,
}

impl<'a, 's> Rewriter<'a, 's> {
    pub(super) fn new(sql: &'a str, setting: &'s dyn Fn(&str) -> Option<String>) -> Self {
        let tokens = lex::tokens(sql);
        let sig = (0..tokens.len()).filter(|&i| tokens[i].kind != Kind::Space).collect();
        let out = tokens.iter().map(|t| t.text.to_owned()).collect();
        let highest =
            tokens.iter().filter_map(|t| if let Kind::Param(n) = t.kind { Some(n) } else { None }).max();
        let params = vec![ParamType::Unknown; highest.unwrap_or(0).min(65_535)];
        Rewriter { tokens, sig, out, params, counts: Vec::new(), groups: HashMap::new(), setting }
    }

    /// Applies the rules to every significant token, in order.
    pub(super) fn run(mut self) -> Result<Translated, Untranslatable> {
        // In the order they see each token.
        let rules: [fn(&mut Self, usize) -> Step; 13] = [
            Self::schema_prefix,
            Self::bare_call,
            Self::current_setting,
            Self::renamed,
            Self::operator_call,
            Self::regex_operator,
            Self::collate,
            Self::subscript,
            Self::array_to_string,
            Self::any_all_array,
            Self::any_value,
            Self::parameter,
            Self::cast,
        ];
        let mut k = 0;
        'tokens: while k < self.sig.len() {
            for rule in rules {
                if let Some(next) = rule(&mut self, k)? {
                    k = next;
                    continue 'tokens;
                }
            }
            k += 1;
        }
        Ok(Translated { sql: self.out.concat(), params: self.params, counts: self.counts })
    }

    /// The `k`th significant token.
    fn t(&self, k: usize) -> Option<Token<'a>> {
        self.sig.get(k).map(|&i| self.tokens[i])
    }

    /// Whether the significant token `d` after `k` is the punctuation `p`.
    fn next_is(&self, k: usize, d: usize, p: &str) -> bool {
        self.t(k + d).is_some_and(|x| x.is_punct(p))
    }

    /// The output piece of the `k`th significant token.
    fn piece(&mut self, k: usize) -> &mut String {
        &mut self.out[self.sig[k]]
    }

    /// Clears the output of the significant tokens `from..=to` and of
    /// everything between them.
    fn clear(&mut self, from: usize, to: usize) {
        for piece in &mut self.out[self.sig[from]..=self.sig[to]] {
            piece.clear();
        }
    }

    fn set_param(&mut self, n: usize, ty: ParamType) {
        if let Some(p) = self.params.get_mut(n.wrapping_sub(1))
            && *p == ParamType::Unknown
        {
            *p = ty;
        }
    }

    /// `pg_catalog.name` is `name`.
    fn schema_prefix(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.is("pg_catalog")
            && self.next_is(k, 1, ".")
            && self.t(k + 2).is_some_and(|x| x.name().is_some())
        {
            self.piece(k).clear();
            self.piece(k + 1).clear();
            return Ok(Some(k + 2));
        }
        Ok(None)
    }

    /// `current_user` and the like are calls.
    fn bare_call(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.kind == Kind::Word
            && BARE_CALLS.iter().any(|c| tok.is(c))
            && !self.next_is(k, 1, "(")
            && !(k > 0 && self.t(k - 1).is_some_and(|x| x.is_punct(".")))
        {
            self.piece(k).push_str("()");
        }
        Ok(None)
    }

    /// `current_setting('name')` is the session's value.
    fn current_setting(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.is("current_setting")
            && self.next_is(k, 1, "(")
            && self.next_is(k, 3, ")")
            && let Some(name) = self.t(k + 2).as_ref().and_then(Token::string)
        {
            let value = (self.setting)(&name).ok_or(Untranslatable::UnknownSetting(name))?;
            *self.piece(k) = quote(&value);
            for j in k + 1..=k + 3 {
                self.piece(j).clear();
            }
            return Ok(Some(k + 4));
        }
        Ok(None)
    }

    /// Names SQLite spells otherwise: `ILIKE` (SQLite's `LIKE` ignores case),
    /// `string_agg`, `json_build_object`.
    fn renamed(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.is("ilike") {
            *self.piece(k) = "LIKE".into();
        } else if self.next_is(k, 1, "(") {
            if tok.is("string_agg") {
                *self.piece(k) = "group_concat".into();
            } else if tok.is("json_build_object") {
                *self.piece(k) = "json_object".into();
            }
        }
        Ok(None)
    }

    /// `OPERATOR(pg_catalog.~)` is the operator (its schema is gone by now).
    fn operator_call(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.is("operator") && self.next_is(k, 1, "(") {
            let qualified = self.t(k + 2).is_some_and(|x| x.is("pg_catalog")) && self.next_is(k, 3, ".");
            let op = if qualified { k + 4 } else { k + 2 };
            if self.t(op).is_some_and(|x| x.kind == Kind::Op) && self.next_is(op, 1, ")") {
                for j in k..op {
                    self.piece(j).clear();
                }
                self.piece(op + 1).clear();
                return Ok(Some(op));
            }
        }
        Ok(None)
    }

    /// `~`, `!~`, `~*`, `!~*` are regular expressions.
    fn regex_operator(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.kind == Kind::Op {
            let sqlite = match tok.text {
                "~" => " REGEXP ",
                "!~" => " NOT REGEXP ",
                "~*" => " REGEXP '(?i)' || ",
                "!~*" => " NOT REGEXP '(?i)' || ",
                _ => return Ok(None),
            };
            *self.piece(k) = sqlite.into();
        }
        Ok(None)
    }

    /// The collations Postgres clients name are the only one here: dropped.
    fn collate(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.is("collate") {
            let qualified = self.t(k + 1).is_some_and(|x| x.is("pg_catalog")) && self.next_is(k, 2, ".");
            let name = if qualified { k + 3 } else { k + 1 };
            if self
                .t(name)
                .as_ref()
                .and_then(Token::name)
                .is_some_and(|n| matches!(n.as_str(), "default" | "C" | "POSIX" | "c" | "posix"))
            {
                for j in k..=name {
                    self.piece(j).clear();
                }
                return Ok(Some(name + 1));
            }
        }
        Ok(None)
    }

    /// A subscript (`prattrs[s]`): there are no arrays, so no element.
    fn subscript(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if (tok.kind == Kind::Word && !tok.is("array") && !is_keyword(tok.text)
            || tok.kind == Kind::QuotedName)
            && self.next_is(k, 1, "[")
            && self.sig[k + 1] == self.sig[k] + 1
            && let Some(close) = matching(&self.sig, &self.tokens, k + 1, "[", "]")
        {
            *self.piece(k) = "NULL".into();
            self.clear(k + 1, close);
            return Ok(Some(close + 1));
        }
        Ok(None)
    }

    /// `array_to_string(array(select e from …), sep)`: the values joined, as
    /// `(select group_concat(v, sep) from (select e AS v from …))`.
    fn array_to_string(&mut self, k: usize) -> Step {
        let shape = self.t(k).is_some_and(|x| x.is("array_to_string"))
            && self.next_is(k, 1, "(")
            && self.t(k + 2).is_some_and(|x| x.is("array"))
            && self.next_is(k, 3, "(")
            && self.t(k + 4).is_some_and(|x| x.is("select"));
        if !shape {
            return Ok(None);
        }
        let (sig, tokens) = (&self.sig, &self.tokens);
        let close_array = matching(sig, tokens, k + 3, "(", ")");
        let close_call = matching(sig, tokens, k + 1, "(", ")");
        let from = (k + 5..close_array.unwrap_or(k))
            .find(|&j| self.t(j).is_some_and(|x| x.is("from")) && depth_between(sig, tokens, k + 4, j) == 0);
        let (Some(close_array), Some(close_call), Some(from)) = (close_array, close_call, from) else {
            return Ok(None);
        };
        if !self.next_is(close_array, 1, ",") {
            return Ok(None);
        }
        let separator: String =
            (close_array + 2..close_call).map(|j| tokens[sig[j]].text).collect::<Vec<_>>().join(" ");
        *self.piece(k) = "(select group_concat(v, ".into();
        for j in k + 1..=k + 4 {
            self.piece(j).clear();
        }
        *self.piece(k + 1) = format!("{separator}) from (select ");
        *self.piece(from) = " AS v from".into();
        *self.piece(close_array) = "))".into();
        let (after, end) = (self.sig[close_array] + 1, self.sig[close_call]);
        for piece in &mut self.out[after..=end] {
            piece.clear();
        }
        Ok(Some(k + 5))
    }

    /// `= ANY (ARRAY[…])` and `<> ALL (ARRAY[…])` are `IN (…)` and `NOT IN (…)`.
    fn any_all_array(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if !((tok.is("any") || tok.is("all"))
            && k > 0
            && self.next_is(k, 1, "(")
            && self.t(k + 2).is_some_and(|x| x.is("array"))
            && self.next_is(k, 3, "["))
        {
            return Ok(None);
        }
        let op = self.t(k - 1).expect("k > 0");
        let negated = match (tok.is("any"), op.text) {
            (true, "=") => false,
            (false, "<>" | "!=") => true,
            _ => {
                return Err(Untranslatable::NotSupported(format!(
                    "{} {}(ARRAY[…]) is not supported: use IN (…)",
                    op.text, tok.text
                )));
            }
        };
        let close = matching(&self.sig, &self.tokens, k + 3, "[", "]")
            .ok_or_else(|| Untranslatable::NotSupported("an ARRAY[ without its ]".into()))?;
        if !self.next_is(close, 1, ")") {
            return Err(Untranslatable::NotSupported(
                "ANY/ALL over an array expression is not supported: use IN (…)".into(),
            ));
        }
        *self.piece(k - 1) = if negated { "NOT IN".into() } else { "IN".into() };
        for j in [k, k + 2, k + 3, close] {
            self.piece(j).clear();
        }
        Ok(None)
    }

    /// `x = ANY (y)` with no array literal: no column here holds an array
    /// (the catalog's array columns belong to empty tables), so `y` is one
    /// value.
    fn any_value(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.is("any")
            && k > 0
            && self.t(k - 1).is_some_and(|x| x.text == "=")
            && self.next_is(k, 1, "(")
            && !self.t(k + 2).is_some_and(|x| x.is("array") || x.is("select"))
        {
            *self.piece(k - 1) = "IN".into();
            self.piece(k).clear();
        }
        Ok(None)
    }

    /// `$N` takes its type from its use: an integer after `LIMIT` or
    /// `OFFSET`, a column's type in a comparison with it.
    fn parameter(&mut self, k: usize) -> Step {
        if let Some(Kind::Param(n)) = self.t(k).map(|x| x.kind) {
            let prev = k.checked_sub(1).and_then(|p| self.t(p));
            if prev.is_some_and(|p| p.is("limit") || p.is("offset")) {
                self.set_param(n, ParamType::Integer);
                self.counts.push(n);
            } else if let Some(ty) = compared_column(&self.sig, &self.tokens, k) {
                self.set_param(n, ty);
            }
        }
        Ok(None)
    }

    /// `operand::type`: what SQLite computes for the cast (see the module
    /// doc of [`super`]); a parameter's cast types the parameter.
    fn cast(&mut self, k: usize) -> Step {
        if self.t(k).map(|x| x.kind) != Some(Kind::Cast) {
            return Ok(None);
        }
        let start = operand_start(&self.sig, &self.tokens, k, &self.groups).ok_or_else(|| {
            Untranslatable::NotSupported(
                "cannot tell what the :: before this type applies to; use CAST(… AS type)".into(),
            )
        })?;
        let (name, end) = type_name(&self.sig, &self.tokens, k + 1)?;
        let operand = self.t(start).expect("start < k");
        let single = start + 1 == k;
        if let Some(element) = name.strip_suffix("[]") {
            // No column here holds an array (the catalog's array columns
            // belong to empty tables): a column cast to one stays as it is.
            // Anything else would need arrays.
            let a_column = (start..k).all(|j| {
                let x = self.t(j).expect("j < k");
                matches!(x.kind, Kind::Word | Kind::QuotedName) && !is_keyword(x.text) || x.is_punct(".")
            });
            if !a_column {
                return Err(Untranslatable::NotSupported(format!("arrays ({element}[]) are not supported")));
            }
            self.clear(k, end);
            return Ok(Some(end + 1));
        }
        let target = cast_target(&name)?;
        self.clear(k, end);
        match (target, operand.kind) {
            (Target::Day, Kind::Str) if single => {
                let text = operand.string().unwrap_or_default();
                *self.piece(start) = quote(&day_literal(&text)?);
            }
            (Target::Day | Target::Time, Kind::Param(n)) if single => {
                let ty = if target == Target::Day { ParamType::Date } else { ParamType::Timestamp };
                self.set_param(n, ty);
            }
            (Target::Time, _) => {
                return Err(Untranslatable::NotSupported(format!(
                    "::{name} applies to parameters only here; compare batch_time with a text 'YYYY-MM-DD HH:MM:SS' (UTC)"
                )));
            }
            (Target::Day, _) => {
                self.piece(start).insert_str(0, "substr(");
                self.piece(k - 1).push_str(", 1, 10)");
            }
            (Target::Call(prefix, suffix), _) => {
                self.piece(start).insert_str(0, prefix);
                self.piece(k - 1).push_str(suffix);
            }
            (Target::Sqlite(ty, param), _) => {
                if let (true, Kind::Param(n)) = (single, operand.kind) {
                    self.set_param(n, param);
                }
                self.piece(start).insert_str(0, "CAST(");
                self.piece(k - 1).push_str(&format!(" AS {ty})"));
            }
        }
        self.groups.insert(end, start);
        Ok(Some(end + 1))
    }
}
