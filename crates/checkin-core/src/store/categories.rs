//! The event's categories as coordinators edit them: add, rename (ru/en),
//! recolour the badge band, set the days a category is valid, remove an
//! unused one. Every edit is a `category` change (last writer wins per
//! code), synced like any other; a desk decides verdicts with what it has.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use super::Store;
use crate::change::Change;
use crate::error::{CoreError, Result};
use crate::model::{Category, CategoryEdit, is_color};

/// What an edit changes; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryPatch {
    pub label_ru: Option<String>,
    pub label_en: Option<String>,
    pub color: Option<String>,
    /// `Some(vec![])`: every day of the event.
    pub days: Option<Vec<NaiveDate>>,
}

/// `s` folded for matching a category name: lower case, ё as е, spaces
/// collapsed.
pub fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .replace('ё', "е")
}

/// The category `value` names among `categories`: by code, Russian or
/// English label, ignoring case, ё/е and extra spaces.
pub fn find<'a>(categories: &'a [Category], value: &str) -> Option<&'a Category> {
    let v = fold(value);
    if v.is_empty() {
        return None;
    }
    categories
        .iter()
        .find(|c| fold(&c.code) == v || fold(&c.label_ru) == v || fold(&c.label_en) == v)
}

fn check_fields(c: &Category, event_days: &[NaiveDate]) -> Result<()> {
    if c.label_ru.trim().is_empty() || c.label_en.trim().is_empty() {
        return Err(CoreError::Invalid(
            "a category needs a name in Russian and in English, e.g. \"Пресса\" / \"Press\"".into(),
        ));
    }
    if c.label_ru.chars().count() > crate::claims::limits::SHORT
        || c.label_en.chars().count() > crate::claims::limits::SHORT
    {
        return Err(CoreError::Invalid(format!(
            "a category name is at most {} characters: shorten it",
            crate::claims::limits::SHORT
        )));
    }
    if !is_color(&c.color) {
        return Err(CoreError::Invalid(format!(
            "{:?} is not a colour: write it #rrggbb, e.g. #f9a825",
            c.color
        )));
    }
    if let Some(day) = c.days.iter().find(|d| !event_days.contains(d)) {
        let list: Vec<String> = event_days.iter().map(|d| d.to_string()).collect();
        return Err(CoreError::Invalid(format!(
            "{day} is not a day of the event: use one of {}",
            list.join(", ")
        )));
    }
    Ok(())
}

impl Store {
    /// The event's categories, with every edit this desk has.
    pub fn categories(&self) -> Result<&[Category]> {
        Ok(&self.ctx()?.event.categories)
    }

    /// How many attendees are in each category (by code).
    pub fn category_counts(&self) -> Result<std::collections::HashMap<String, u64>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT category, count(*) FROM attendees GROUP BY category")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The category `value` names (code, Russian or English name; case and
    /// ё/е do not matter).
    pub fn find_category(&self, value: &str) -> Result<Option<Category>> {
        Ok(find(self.categories()?, value).cloned())
    }

    /// Add a category. `code` is made from the name when not given; the
    /// colour is a neutral grey when not given.
    pub fn add_category(
        &mut self,
        code: Option<&str>,
        label_ru: &str,
        label_en: Option<&str>,
        color: Option<&str>,
        days: Vec<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<Category> {
        let ctx = self.ctx()?;
        let label_ru = label_ru.split_whitespace().collect::<Vec<_>>().join(" ");
        let label_en = label_en
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| label_ru.clone());
        let taken: Vec<&str> = ctx.event.categories.iter().map(|c| c.code.as_str()).collect();
        let code = match code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => {
                if !c
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
                    || c.len() > crate::claims::limits::CODE
                {
                    return Err(CoreError::Invalid(format!(
                        "{c:?} cannot be a category code: use Latin letters, digits, '_' and '-', e.g. \"media\""
                    )));
                }
                c.to_string()
            }
            None => Category::code_for(&label_ru, &taken),
        };
        for value in [&code, &label_ru, &label_en] {
            if let Some(existing) = find(&ctx.event.categories, value) {
                return Err(CoreError::Invalid(format!(
                    "a category {:?} / {:?} ({}) already exists: edit it, or choose another name",
                    existing.label_ru, existing.label_en, existing.code
                )));
            }
        }
        let mut days = days;
        days.sort();
        days.dedup();
        let category = Category {
            code,
            label_ru,
            label_en,
            color: color.unwrap_or(Category::NEUTRAL_COLOR).trim().to_lowercase(),
            days,
        };
        check_fields(&category, &ctx.event.days)?;
        self.record_category(category.clone(), false, now)?;
        Ok(category)
    }

    /// Rename, recolour or set the days of the category `key` names.
    pub fn edit_category(&mut self, key: &str, patch: CategoryPatch, now: DateTime<Utc>) -> Result<Category> {
        let ctx = self.ctx()?;
        let mut c = self.known_category(key)?;
        if let Some(l) = patch.label_ru {
            c.label_ru = l.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        if let Some(l) = patch.label_en {
            c.label_en = l.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        if let Some(color) = patch.color {
            c.color = color.trim().to_lowercase();
        }
        if let Some(mut days) = patch.days {
            days.sort();
            days.dedup();
            c.days = days;
        }
        for other in ctx.event.categories.iter().filter(|o| o.code != c.code) {
            if fold(&other.label_ru) == fold(&c.label_ru) || fold(&other.label_en) == fold(&c.label_en) {
                return Err(CoreError::Invalid(format!(
                    "another category is already called {:?} / {:?}: choose another name",
                    other.label_ru, other.label_en
                )));
            }
        }
        check_fields(&c, &ctx.event.days)?;
        self.record_category(c.clone(), false, now)?;
        Ok(c)
    }

    /// Remove the category `key` names. Refused while anyone is in it.
    pub fn remove_category(&mut self, key: &str, now: DateTime<Utc>) -> Result<Category> {
        let c = self.known_category(key)?;
        let users: i64 = self.conn.query_row(
            "SELECT count(*) FROM attendees WHERE category = ?1",
            params![c.code],
            |r| r.get(0),
        )?;
        if users > 0 {
            return Err(CoreError::Invalid(format!(
                "{users} attendee(s) are in the category {:?}: move them to another category first",
                c.label_ru
            )));
        }
        self.record_category(c.clone(), true, now)?;
        Ok(c)
    }

    fn known_category(&self, key: &str) -> Result<Category> {
        let categories = self.categories()?;
        find(categories, key).cloned().ok_or_else(|| {
            let known: Vec<String> = categories
                .iter()
                .map(|c| format!("{} ({})", c.label_ru, c.code))
                .collect();
            CoreError::Invalid(format!("no category {key:?}: use one of {}", known.join(", ")))
        })
    }

    fn record_category(&mut self, category: Category, removed: bool, now: DateTime<Utc>) -> Result<()> {
        self.write(now, |w| {
            w.record(Change::Category(CategoryEdit { category, removed }))
                .map(|_| ())
        })?;
        self.reload()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Vec<Category> {
        Category::defaults()
    }

    #[test]
    fn names_match_by_code_and_labels_ignoring_case_and_yo() {
        assert_eq!(find(&cats(), "PRESS").unwrap().code, "press");
        assert_eq!(find(&cats(), "  пресса ").unwrap().code, "press");
        assert_eq!(find(&cats(), "волонтер").unwrap().code, "volunteer");
        assert_eq!(find(&cats(), "Участник").unwrap().code, "participant");
        assert!(find(&cats(), "СМИ").is_none());
        assert!(find(&cats(), "").is_none());
    }

    #[test]
    fn codes_are_made_from_cyrillic_names_and_never_repeat() {
        assert_eq!(Category::code_for("СМИ", &[]), "smi");
        assert_eq!(
            Category::code_for("Региональная команда", &[]),
            "regionalnaya_komanda"
        );
        assert_eq!(Category::code_for("СМИ", &["smi"]), "smi_2");
        assert_eq!(Category::code_for("!!!", &[]), "category");
    }
}
