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
        let rules: [fn(&mut Self, usize) -> Step; 18] = [
            Self::schema_prefix,
            Self::label,
            Self::escape_string,
            Self::bare_call,
            Self::current_setting,
            Self::renamed,
            Self::operator_call,
            Self::regex_operator,
            Self::collate,
            Self::subscript,
            Self::field,
            Self::trim,
            Self::array_subquery,
            Self::table_function,
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
        let items = super::select_items(&self.sig, &self.tokens);
        Ok(Translated { sql: self.out.concat(), params: self.params, counts: self.counts, items })
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

    /// `pg_catalog.name` is `name`, and so is `information_schema.f(…)` (a
    /// function: the schema's tables keep their name).
    fn schema_prefix(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        let function = || self.next_is(k, 3, "(");
        if (tok.is("pg_catalog") || tok.is("information_schema") && function())
            && self.next_is(k, 1, ".")
            && self.t(k + 2).is_some_and(|x| x.name().is_some())
        {
            self.piece(k).clear();
            self.piece(k + 1).clear();
            return Ok(Some(k + 2));
        }
        Ok(None)
    }

    /// A column label that SQLite reads as a keyword (`AS default`, which
    /// Postgres takes as a name after AS) is quoted.
    fn label(&mut self, k: usize) -> Step {
        const SQLITE_KEYWORDS: &[&str] = &[
            "default",
            "order",
            "group",
            "table",
            "index",
            "check",
            "column",
            "constraint",
            "primary",
            "references",
            "unique",
            "values",
            "transaction",
            "foreign",
            "limit",
            "offset",
            "collate",
            "natural",
            "returning",
            "notnull",
            "isnull",
            "to",
            "into",
            "escape",
            "glob",
            "match",
            "regexp",
            "autoincrement",
            "deferrable",
            "nothing",
            "except",
            "intersect",
            "union",
            "between",
            "exists",
        ];
        let tok = self.t(k).expect("k < len");
        if tok.is("as")
            && let Some(name) = self.t(k + 1)
            && SQLITE_KEYWORDS.iter().any(|w| name.is(w))
            && self
                .t(k + 2)
                .is_none_or(|x| x.is_punct(",") || x.is_punct(")") || x.is_punct(";") || x.is("from"))
        {
            *self.piece(k + 1) = format!("\"{}\"", name.text.to_ascii_lowercase());
            return Ok(Some(k + 2));
        }
        Ok(None)
    }

    /// `E'a\nb'` and `$$a'b$$` are the strings they write.
    fn escape_string(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.kind == Kind::Str
            && tok.text.starts_with(['e', 'E', '$'])
            && let Some(value) = tok.string()
        {
            *self.piece(k) = quote(&value);
            return Ok(Some(k + 1));
        }
        Ok(None)
    }

    /// The significant token before `k` that is not a cleared schema
    /// prefix (`pg_catalog.`).
    fn before(&self, k: usize) -> Option<Token<'a>> {
        let mut j = k.checked_sub(1)?;
        while j >= 2 && self.t(j).is_some_and(|x| x.is_punct(".")) && self.out[self.sig[j]].is_empty() {
            j -= 2;
        }
        self.t(j)
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

    /// A subscript (`x[i]`, `(current_schemas(true))[1]`) is the element of
    /// the array's literal (`array_get`); a slice is not supported.
    fn subscript(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if !tok.is_punct("[") || k == 0 || self.t(k - 1).is_some_and(|x| x.is("array")) {
            return Ok(None);
        }
        let Some(start) = operand_start(&self.sig, &self.tokens, k, &self.groups) else {
            return Ok(None);
        };
        let close = matching(&self.sig, &self.tokens, k, "[", "]")
            .ok_or_else(|| Untranslatable::NotSupported("a [ without its ]".into()))?;
        if (k + 1..close).any(|j| self.t(j).is_some_and(|x| x.is_punct(":"))) {
            return Err(Untranslatable::NotSupported("array slices ([a:b]) are not supported".into()));
        }
        self.piece(start).insert_str(0, "array_get(");
        *self.piece(k) = ", ".into();
        *self.piece(close) = ")".into();
        self.groups.insert(close, start);
        Ok(Some(k + 1))
    }

    /// A field of a composite value, `(x).name`: `pg_field(x, 'name')`
    /// (no value here is composite; see the catalog).
    fn field(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if !(tok.is_punct(".") && k > 0 && self.t(k - 1).is_some_and(|x| x.is_punct(")"))) {
            return Ok(None);
        }
        let (Some(start), Some(name)) = (
            operand_start(&self.sig, &self.tokens, k, &self.groups),
            self.t(k + 1).as_ref().and_then(Token::name),
        ) else {
            return Ok(None);
        };
        if !self.t(start).is_some_and(|x| x.is_punct("(")) {
            return Ok(None);
        }
        self.piece(start).insert_str(0, "pg_field(");
        *self.piece(k) = ", ".into();
        *self.piece(k + 1) = format!("{})", quote(&name));
        self.groups.insert(k + 1, start);
        Ok(Some(k + 2))
    }

    /// `trim([both|leading|trailing] [chars] from s)` is SQLite's `trim(s,
    /// chars)` (`ltrim`, `rtrim`). The characters are taken as written.
    fn trim(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if !(tok.is("trim") && self.next_is(k, 1, "(")) {
            return Ok(None);
        }
        let Some(close) = matching(&self.sig, &self.tokens, k + 1, "(", ")") else {
            return Ok(None);
        };
        let from = (k + 2..close).find(|&j| {
            self.t(j).is_some_and(|x| x.is("from")) && depth_between(&self.sig, &self.tokens, k + 2, j) == 0
        });
        let mode = self.t(k + 2).filter(|x| x.is("both") || x.is("leading") || x.is("trailing"));
        if from.is_none() && mode.is_none() {
            return Ok(None);
        }
        let function = match mode {
            Some(m) if m.is("leading") => "ltrim",
            Some(m) if m.is("trailing") => "rtrim",
            _ => "trim",
        };
        let chars_from = if mode.is_some() { k + 3 } else { k + 2 };
        let chars: String = match from {
            Some(from) if from > chars_from => {
                let text = self.out[self.sig[chars_from]..self.sig[from]].concat();
                self.clear(chars_from, from);
                text
            }
            Some(from) => {
                self.piece(from).clear();
                String::new()
            }
            None => String::new(),
        };
        if mode.is_some() {
            self.piece(k + 2).clear();
        }
        *self.piece(k) = function.into();
        if !chars.trim().is_empty() {
            *self.piece(close) = format!(", {})", chars.trim());
        }
        Ok(Some(k + 1))
    }

    /// `ARRAY(SELECT e FROM …)`: the values as an array literal,
    /// `(select array_agg(v) from (select e AS v from …))`.
    fn array_subquery(&mut self, k: usize) -> Step {
        let shape = self.t(k).is_some_and(|x| x.is("array"))
            && self.next_is(k, 1, "(")
            && self.t(k + 2).is_some_and(|x| x.is("select"));
        if !shape {
            return Ok(None);
        }
        let (sig, tokens) = (&self.sig, &self.tokens);
        let Some(close) = matching(sig, tokens, k + 1, "(", ")") else {
            return Ok(None);
        };
        // The end of the select list: its FROM, or the first clause after it.
        let clauses = ["from", "where", "group", "order", "limit", "having", "union", "offset"];
        let end = (k + 3..close)
            .find(|&j| {
                self.t(j).is_some_and(|x| clauses.iter().any(|c| x.is(c)))
                    && depth_between(sig, tokens, k + 2, j) == 0
            })
            .unwrap_or(close);
        *self.piece(k) = "(select array_agg(v) from ".into();
        if end >= 2 && self.t(end - 2).is_some_and(|x| x.is("as")) {
            *self.piece(end - 1) = "v".into();
        } else {
            self.piece(end).insert_str(0, " AS v ");
        }
        self.piece(close).push(')');
        Ok(Some(k + 2))
    }

    /// Whether the significant token `k` is in a FROM clause's list (the
    /// nearest clause word before it, at its depth, is FROM).
    fn in_from_list(&self, k: usize) -> bool {
        let mut depth = 0;
        for j in (0..k).rev() {
            let x = self.t(j).expect("j < k");
            if x.is_punct(")") {
                depth += 1;
            } else if x.is_punct("(") {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            } else if depth == 0 && x.kind == Kind::Word {
                if x.is("from") {
                    return true;
                }
                if ["select", "where", "on", "group", "order", "having", "set", "values", "using"]
                    .iter()
                    .any(|w| x.is(w))
                {
                    return false;
                }
            }
        }
        false
    }

    /// A set-returning function in a FROM clause: `unnest(a) [AS] x` is the
    /// array's elements as column `x` (read through `array_json`), and
    /// `generate_series(…) [AS] s(r)` names its column `r`, and
    /// `generate_series(…) s` names it `s` (and SQLite's `value`, still).
    fn table_function(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        let unnest = tok.is("unnest");
        if !((unnest || tok.is("generate_series"))
            && self.next_is(k, 1, "(")
            && self
                .before(k)
                .is_some_and(|x| x.is("from") || x.is("join") || x.is_punct(",") && self.in_from_list(k)))
        {
            return Ok(None);
        }
        let Some(close) = matching(&self.sig, &self.tokens, k + 1, "(", ")") else {
            return Ok(None);
        };
        let alias_at = if self.t(close + 1).is_some_and(|x| x.is("as")) { close + 2 } else { close + 1 };
        let alias = self.t(alias_at).filter(|x| {
            x.kind == Kind::QuotedName || x.kind == Kind::Word && !is_keyword(x.text) && !is_join_word(x.text)
        });
        let mut column = "unnest".to_owned();
        let mut listed = false;
        if let Some(alias) = alias {
            column = alias.text.to_owned();
            if self.next_is(alias_at, 1, "(")
                && let Some(list_end) = matching(&self.sig, &self.tokens, alias_at + 1, "(", ")")
            {
                if list_end != alias_at + 3 {
                    return Err(Untranslatable::NotSupported(format!(
                        "{}() gives one column: name one",
                        tok.text
                    )));
                }
                column = self.t(alias_at + 2).expect("inside the list").text.to_owned();
                self.clear(alias_at + 1, list_end);
                listed = true;
            }
        }
        if !unnest && alias.is_none() {
            return Ok(None);
        }
        let open = if unnest { "json_each(array_json(" } else { "generate_series(" };
        // An alias without a column list names the column too (Postgres);
        // `alias.value` (SQLite's name) is kept for generate_series.
        let kept = if unnest || listed { "" } else { "value, " };
        *self.piece(k) = format!("(select {kept}value AS {column} from {open}");
        self.piece(k + 1).clear();
        self.piece(close).push_str(if unnest { "))" } else { ")" });
        if alias.is_none() {
            self.piece(close).push_str(&format!(" AS {column}"));
        }
        Ok(Some(k + 2))
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

    /// `x = ANY (y)` with an array value `y` (a parameter, a column): `x`
    /// is one of its elements (read through `array_json`).
    fn any_value(&mut self, k: usize) -> Step {
        let tok = self.t(k).expect("k < len");
        if tok.is("any")
            && k > 0
            && self.t(k - 1).is_some_and(|x| x.text == "=")
            && self.next_is(k, 1, "(")
            && !self.t(k + 2).is_some_and(|x| x.is("array") || x.is("select"))
            && let Some(close) = matching(&self.sig, &self.tokens, k + 1, "(", ")")
        {
            *self.piece(k - 1) = "IN".into();
            self.piece(k).clear();
            *self.piece(k + 1) = "(select value from json_each(array_json(".into();
            *self.piece(close) = ")))".into();
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
        if name.ends_with("[]") {
            // An array is its literal's text here, whatever its elements:
            // the cast leaves it as it is.
            self.clear(k, end);
            self.groups.insert(end, start);
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

/// Words that may follow a table in a FROM clause without being its alias.
fn is_join_word(word: &str) -> bool {
    [
        "left", "right", "inner", "outer", "cross", "full", "natural", "order", "group", "union", "window",
        "lateral",
    ]
    .iter()
    .any(|w| word.eq_ignore_ascii_case(w))
}
