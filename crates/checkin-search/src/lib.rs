//! As-you-type attendee search across scripts and spellings.
//!
//! Pure and in memory: the core's store feeds it people through
//! [`Searchable`] and keeps it current. It must never depend on the core,
//! a database, the network or any other crate of this workspace: it is the
//! layer below the store.
//!
//!
//! Every name word, Cyrillic or Latin, is turned into one *phonetic Latin key*:
//! Cyrillic is transliterated, Latin diacritics are folded (`č` → `ch`,
//! `š` → `sh`, `ž` → `zh`, …) and a phonetic normalisation folds the usual
//! spelling variants (`ch/tch/tsch/cz`, `sh/sch/sz/shch`, `zh`, `kh/h`,
//! `ts/tz/c`, `ks/x`, `ya/ia/ja`, `yu/iu/ju`, `ye/e`, `yo/e` after a consonant,
//! `y/i/j`, soft and hard signs and apostrophes dropped, double letters
//! collapsed, …). So "Chupsheva", "Čupševa", "Tschupschewa" and "Чупшева" all
//! become `chupsheva`, and "Aleksey", "Alexei", "Aleksej" and "Алексей" all
//! become `aleksei`.
//!
//! A Latin query word is also read the French, English and German way
//! (`Tchoupcheva` → `chupsheva`, `John` → `dzhon`, `Michail` → `mihail`), and a
//! Cyrillic `дж` is also read as a Latin `j` (`Джон` finds "John"); those
//! readings score a little lower than the plain one.
//!
//! The index keeps a vocabulary of distinct keys (a sorted map for exact and
//! prefix look-ups, and a trigram index for typo-tolerant look-ups scored with
//! Jaro-Winkler and optimal string alignment distance) with postings from each
//! key to the attendees that carry it. A query word is scored against its
//! best-matching word of each attendee: exact 1.0, prefix 0.80–0.95 (the last
//! word is taken as a prefix while it is being typed), typo 0.45–0.79
//! (organisation words count 0.7 of that). An attendee's score is the mean over
//! the query words (times 0.6 when some query word matched nothing), so words
//! can come in any order. Exact ticket code, e-mail or phone (last 10 digits)
//! matches score 2.0 and so come first.
//!
//! Speed: a query walks the postings of its matching terms best score first
//! (a one-word query stops as soon as `limit` attendees are settled, and skips
//! typo matching when exact and prefix matches already fill `limit`), using
//! per-thread scratch arrays that are reset entry by entry. Over 100,000
//! generated attendees a keystroke takes about 0.05 ms (median) and under
//! 1 ms (p99) in a release build; the index takes about 41 MB (see
//! `examples/index_memory.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Bound;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use uuid::Uuid;

/// What the index reads of a person. The core implements it for its
/// attendee; anything with a name and identifiers can be indexed.
pub trait Searchable {
    fn id(&self) -> Uuid;
    /// "Фамилия Имя Отчество" or "First Last".
    fn full_name(&self) -> &str;
    fn latin_name(&self) -> Option<&str>;
    fn organization(&self) -> Option<&str>;
    fn email(&self) -> Option<&str>;
    fn phone(&self) -> Option<&str>;
    fn ticket_codes(&self) -> &[String];
}

/// One result, best first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchHit {
    pub id: Uuid,
    /// Relevance: 2.0 for an exact ticket code / e-mail / phone, 1.0 for every
    /// query word matching a name word exactly, lower for prefix and fuzzy
    /// matches. Never below [`MIN_SCORE`].
    pub score: f32,
}

/// Hits scoring below this are not returned.
pub const MIN_SCORE: f32 = 0.4;

/// Score of an exact ticket code, e-mail or phone match.
const EXACT_ID_SCORE: f32 = 2.0;
/// Weight of an organisation word relative to a name word.
const ORG_WEIGHT: f32 = 0.7;
/// Factor for a key read the French/English/German way rather than the plain way.
const VARIANT_FACTOR: f32 = 0.97;
/// Factor for a prefix match of a word that is not the one being typed.
const INNER_PREFIX_FACTOR: f32 = 0.95;
/// Factor when some query word matched none of the attendee's words.
const PARTIAL_FACTOR: f32 = 0.6;
/// A whole-word typo match scores `FUZZY_BASE + FUZZY_SPAN * similarity`,
/// below any plain prefix match (≥ 0.80).
const FUZZY_BASE: f32 = 0.50;
const FUZZY_SPAN: f32 = 0.29;
/// Query words beyond this many are ignored.
const MAX_QUERY_WORDS: usize = 8;
/// At most this many identifier (e-mail, phone, ticket) prefix hits per query.
const MAX_ID_PREFIX_HITS: usize = 64;

// Phoneme markers used inside the key machinery. They never reach a key as
// such: `render` spells them out.
const CH: u8 = b'C';
const SH: u8 = b'S';
const ZH: u8 = b'Z';
const TS: u8 = b'T';
const KH: u8 = b'H';

/// In-memory index over attendees. Built once from the store at start-up,
/// then kept current with [`SearchIndex::upsert`] / [`SearchIndex::remove`].
#[derive(Default)]
pub struct SearchIndex {
    /// Slot → document; freed slots are `None` and listed in `free`.
    docs: Vec<Option<Doc>>,
    /// Slot → [`order_key`] of the full name: cheap tie-break.
    order: Vec<u128>,
    free: Vec<u32>,
    by_id: HashMap<Uuid, u32>,
    /// Key → term id, sorted for prefix look-ups.
    vocab: BTreeMap<Box<str>, u32>,
    /// Term id → key.
    term_keys: Vec<Box<str>>,
    /// Term id → key length (capped at 255): checked before the key itself.
    term_lens: Vec<u8>,
    /// Term id → slots having the term in the name (full or Latin).
    names: Vec<Vec<u32>>,
    /// Term id → slots having the term in the organisation only.
    orgs: Vec<Vec<u32>>,
    /// Trigram code → term ids (each term once per distinct trigram).
    grams: Vec<Vec<u32>>,
    /// (normalised e-mail / phone / ticket code, slot), sorted for prefixes.
    emails: IdSet,
    phones: IdSet,
    tickets: IdSet,
}

struct Doc {
    id: Uuid,
    /// `term << 1 | is_org`, each term once.
    terms: Box<[u32]>,
    /// The normalised identifiers, kept to unlink them from the identifier
    /// sets, in one string ([`DocIds`]): one allocation instead of up to four
    /// saves about 10 MB at 100,000 attendees.
    ids: DocIds,
}

/// `phone TAB tickets-separated-by-spaces TAB email`; an absent phone or
/// e-mail is empty. Phones are digits and tickets letters and digits only, so
/// the first two tabs are the separators; the e-mail is the rest.
struct DocIds(Box<str>);

impl DocIds {
    fn new(phone: Option<&str>, tickets: &[Box<str>], email: Option<&str>) -> DocIds {
        let mut s = String::from(phone.unwrap_or(""));
        s.push('\t');
        for (i, t) in tickets.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(t);
        }
        s.push('\t');
        s.push_str(email.unwrap_or(""));
        DocIds(s.into_boxed_str())
    }

    /// (phone, tickets, e-mail).
    fn parts(&self) -> (Option<&str>, impl Iterator<Item = &str>, Option<&str>) {
        let mut it = self.0.splitn(3, '\t');
        let phone = it.next().filter(|p| !p.is_empty());
        let tickets = it.next().unwrap_or("").split(' ').filter(|t| !t.is_empty());
        let email = it.next().filter(|e| !e.is_empty());
        (phone, tickets, email)
    }
}

impl fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchIndex")
            .field("attendees", &self.len())
            .field("terms", &self.term_keys.len())
            .finish()
    }
}

impl SearchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of indexed attendees.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Whether the attendee with this id is indexed.
    pub fn contains(&self, id: Uuid) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Insert or replace one attendee (by id). Cheap: a few key computations
    /// and postings updates.
    pub fn upsert<P: Searchable + ?Sized>(&mut self, a: &P) {
        let slot = match self.by_id.get(&a.id()) {
            Some(&slot) => {
                self.unlink(slot);
                slot
            }
            None => {
                let slot = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        self.docs.push(None);
                        self.order.push(0);
                        u32::try_from(self.docs.len() - 1).expect("fewer than 2^31 attendees")
                    }
                };
                self.by_id.insert(a.id(), slot);
                slot
            }
        };

        let mut terms: Vec<u32> = Vec::new();
        let mut add_text = |index: &mut Self, text: &str, org: bool| {
            for_each_word(text, |raw, _cyr| {
                let key = key_of_raw(raw, Flavor::Plain);
                if key.is_empty() {
                    return;
                }
                let term = index.intern(&key);
                let name_code = term << 1;
                // Names come before the organisation, so a word in both counts
                // as a name word.
                if terms.contains(&name_code) || terms.contains(&(name_code | 1)) {
                    return;
                }
                terms.push(name_code | u32::from(org));
            });
        };
        add_text(self, a.full_name(), false);
        if let Some(latin) = a.latin_name() {
            add_text(self, latin, false);
        }
        if let Some(org) = a.organization() {
            add_text(self, org, true);
        }
        for &t in &terms {
            self.postings_mut(t).push(slot);
        }

        let email = a
            .email()
            .map(normalize_email)
            .filter(|e| !e.is_empty())
            .map(String::into_boxed_str);
        let phone = a.phone().and_then(normalize_phone).map(String::into_boxed_str);
        let mut tickets: Vec<Box<str>> = a
            .ticket_codes()
            .iter()
            .map(|t| normalize_ticket(t))
            .filter(|t| !t.is_empty())
            .map(String::into_boxed_str)
            .collect();
        tickets.sort();
        tickets.dedup();
        let ids = DocIds::new(phone.as_deref(), &tickets, email.as_deref());
        if let Some(e) = email {
            self.emails.insert(IdEntry::new(&e, slot));
        }
        if let Some(p) = phone {
            self.phones.insert(IdEntry::new(&p, slot));
        }
        for t in tickets {
            self.tickets.insert(IdEntry::new(&t, slot));
        }

        self.order[slot as usize] = order_key(a.full_name());
        self.docs[slot as usize] = Some(Doc {
            id: a.id(),
            terms: terms.into_boxed_slice(),
            ids,
        });
    }

    /// Give back the spare capacity the vectors grew while the index was
    /// built one attendee at a time (up to half of each; about 3 MB at
    /// 100,000 attendees). Later changes grow them again as needed.
    pub fn shrink_to_fit(&mut self) {
        self.docs.shrink_to_fit();
        self.order.shrink_to_fit();
        self.free.shrink_to_fit();
        self.by_id.shrink_to_fit();
        for list in self.names.iter_mut().chain(&mut self.orgs).chain(&mut self.grams) {
            list.shrink_to_fit();
        }
    }

    /// Drop one attendee; unknown ids are ignored.
    pub fn remove(&mut self, id: Uuid) {
        if let Some(slot) = self.by_id.remove(&id) {
            self.unlink(slot);
            self.docs[slot as usize] = None;
            self.free.push(slot);
        }
    }

    /// Best matches first, at most `limit`. Empty/whitespace query → empty vec.
    ///
    /// Exact ticket code / e-mail / phone matches (phones compare by their last
    /// 10 digits, so "+7 (916) 123-45-67" and "89161234567" match) rank first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SearchHit> {
        let query = query.trim_start();
        if limit == 0 || query.trim().is_empty() || self.is_empty() {
            return Vec::new();
        }
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.search_with(&mut scratch, query, limit),
            Err(_) => self.search_with(&mut Scratch::default(), query, limit),
        })
    }

    // ----- internals -----------------------------------------------------------

    fn search_with(&self, sc: &mut Scratch, query: &str, limit: usize) -> Vec<SearchHit> {
        sc.prepare(self.docs.len(), self.term_keys.len());
        let mut touched: Vec<u32> = Vec::new();

        // Names and organisations.
        if !query.contains('@') {
            self.score_words(query, limit, sc, &mut touched);
        }
        let score = &mut sc.score;

        // Identifiers: the best of a name score and an identifier score counts.
        let mut bump = |slot: u32, s: f32| {
            let cur = &mut score[slot as usize];
            if *cur == 0.0 {
                touched.push(slot);
            }
            if s > *cur {
                *cur = s;
            }
        };
        self.score_identifiers(query, &mut bump);

        let mut hits: Vec<(f32, u128, Uuid)> = touched
            .iter()
            .filter_map(|&slot| {
                let s = score[slot as usize];
                (s >= MIN_SCORE).then(|| (s, self.order[slot as usize], self.doc(slot).id))
            })
            .collect();
        sc.finish(&touched);
        // Best score first; equal scores alphabetically by name (first 18
        // letters), then by id.
        let cmp = |a: &(f32, u128, Uuid), b: &(f32, u128, Uuid)| {
            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, cmp);
            hits.truncate(limit);
        }
        hits.sort_unstable_by(cmp);
        hits.into_iter()
            .map(|(score, _, id)| SearchHit { id, score })
            .collect()
    }

    fn doc(&self, slot: u32) -> &Doc {
        self.docs[slot as usize]
            .as_ref()
            .expect("postings point at live documents")
    }

    /// Remove a document's postings and identifier entries (the slot stays).
    fn unlink(&mut self, slot: u32) {
        let Some(doc) = self.docs[slot as usize].take() else {
            return;
        };
        for &t in doc.terms.iter() {
            let list = self.postings_mut(t);
            if let Some(pos) = list.iter().position(|&p| p == slot) {
                list.swap_remove(pos);
            }
        }
        let (phone, tickets, email) = doc.ids.parts();
        if let Some(e) = email {
            self.emails.remove(&IdEntry::new(e, slot));
        }
        if let Some(p) = phone {
            self.phones.remove(&IdEntry::new(p, slot));
        }
        for t in tickets {
            self.tickets.remove(&IdEntry::new(t, slot));
        }
    }

    /// The postings list for `code` = `term << 1 | is_org`.
    fn postings_mut(&mut self, code: u32) -> &mut Vec<u32> {
        let t = (code >> 1) as usize;
        if code & 1 == 1 {
            &mut self.orgs[t]
        } else {
            &mut self.names[t]
        }
    }

    fn is_dead(&self, term: u32) -> bool {
        self.names[term as usize].is_empty() && self.orgs[term as usize].is_empty()
    }

    /// Term id of `key`, adding it to the vocabulary if new. Terms are never
    /// dropped (a term whose postings are empty simply matches nobody), so the
    /// vocabulary is bounded by the distinct words ever seen.
    fn intern(&mut self, key: &str) -> u32 {
        if let Some(&t) = self.vocab.get(key) {
            return t;
        }
        let t = u32::try_from(self.term_keys.len()).expect("fewer than 2^32 terms");
        self.term_keys.push(key.into());
        self.term_lens.push(key.len().min(255) as u8);
        self.names.push(Vec::new());
        self.orgs.push(Vec::new());
        self.vocab.insert(key.into(), t);
        if self.grams.is_empty() {
            self.grams = vec![Vec::new(); GRAM_SPACE];
        }
        let mut grams = trigrams(key.as_bytes(), true);
        grams.sort_unstable();
        grams.dedup();
        for g in grams {
            self.grams[g].push(t);
        }
        t
    }

    /// Add each attendee's name score (mean over query words) to `score`.
    ///
    /// Each query word's matching terms are walked best score first, so the
    /// first time a word reaches an attendee is its best match for that word.
    /// A one-word query stops once `limit` attendees are settled.
    fn score_words(&self, query: &str, limit: usize, sc: &mut Scratch, touched: &mut Vec<u32>) {
        let mut words: Vec<(Vec<u8>, bool)> = Vec::new();
        for_each_word(query, |raw, cyr| {
            if words.len() < MAX_QUERY_WORDS && !raw.is_empty() {
                words.push((raw.to_vec(), cyr));
            }
        });
        if words.is_empty() {
            return;
        }
        // The last word is still being typed unless the query ends in a separator.
        let typing = query.chars().next_back().is_some_and(is_word_char);
        let n_words = words.len();
        let Scratch {
            score,
            seen,
            matched,
            gram_counts,
            ..
        } = sc;
        let mut term_scores: Vec<(u32, f32)> = Vec::new();
        let mut entries: Vec<(f32, &[u32])> = Vec::new();
        let mut skip_fuzzy = false;
        for (i, (raw, cyr)) in words.iter().enumerate() {
            let last = i + 1 == n_words;
            let keys = query_keys(raw, *cyr, last && typing);
            // A one-word query first tries without typo matches: those score
            // below every exact or prefix match, so when exact and prefix
            // matches already fill `limit`, typos could not make the list.
            if n_words == 1 {
                term_scores.clear();
                for (key, factor) in &keys {
                    let (t, g) = (last && typing, &mut *gram_counts);
                    self.match_terms(key, *factor, t, false, g, &mut term_scores);
                }
                let mut strong: Vec<(f32, &[u32])> = Vec::new();
                for &(t, s) in &term_scores {
                    let names = &self.names[t as usize];
                    if s > FUZZY_BASE + FUZZY_SPAN && !names.is_empty() {
                        strong.push((s, names));
                    }
                }
                strong.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
                let mut reached = 0;
                for &(_, slots) in &strong {
                    for &slot in slots {
                        if seen[slot as usize] == 0 {
                            seen[slot as usize] = 1;
                            touched.push(slot);
                            reached += 1;
                        }
                    }
                    if reached >= limit {
                        break;
                    }
                }
                for slot in touched.drain(..) {
                    seen[slot as usize] = 0;
                }
                if reached >= limit {
                    skip_fuzzy = true;
                }
            }
            term_scores.clear();
            for (key, factor) in &keys {
                let (t, g) = (last && typing, &mut *gram_counts);
                self.match_terms(key, *factor, t, !skip_fuzzy, g, &mut term_scores);
            }
            entries.clear();
            for &(t, s) in &term_scores {
                let (names, orgs) = (&self.names[t as usize], &self.orgs[t as usize]);
                if !names.is_empty() {
                    entries.push((s, names));
                }
                if !orgs.is_empty() {
                    entries.push((s * ORG_WEIGHT, orgs));
                }
            }
            entries.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
            let mark = i as u8 + 1;
            let mut reached = 0usize;
            let mut prev_score = f32::INFINITY;
            for &(s, slots) in &entries {
                // Everyone not reached yet scores less than the `limit` reached.
                if n_words == 1 && reached >= limit && s < prev_score {
                    break;
                }
                prev_score = s;
                for &slot in slots {
                    let k = slot as usize;
                    if seen[k] != mark {
                        seen[k] = mark;
                        if matched[k] == 0 {
                            touched.push(slot);
                        }
                        matched[k] += 1;
                        score[k] += s;
                        reached += 1;
                    }
                }
            }
        }
        for &slot in touched.iter() {
            let s = slot as usize;
            let mut v = score[s] / n_words as f32;
            if (matched[s] as usize) < n_words {
                v *= PARTIAL_FACTOR;
            }
            score[s] = v;
        }
    }

    /// Append `(term, score)` for every vocabulary term matching `key`:
    /// exact, prefix, or within a typo (several entries per term are fine).
    fn match_terms(
        &self,
        key: &str,
        factor: f32,
        typing: bool,
        fuzzy: bool,
        gram_counts: &mut [u16],
        out: &mut Vec<(u32, f32)>,
    ) {
        let qlen = key.len();
        // Exact and prefix.
        for (k, &t) in self
            .vocab
            .range::<str, _>((Bound::Included(key), Bound::Unbounded))
        {
            if !k.starts_with(key) {
                break;
            }
            if self.is_dead(t) {
                continue;
            }
            let s = if k.len() == qlen {
                1.0
            } else {
                let s = 0.80 + 0.15 * qlen as f32 / k.len() as f32;
                if typing { s } else { s * INNER_PREFIX_FACTOR }
            };
            out.push((t, s * factor));
        }

        // Typos: trigram prefilter, then Jaro-Winkler / OSA on the keys.
        // (Keys of at most 64 letters keep the trigram counts within a byte.)
        if !fuzzy || !(4..=SHORT_KEY).contains(&qlen) || self.grams.is_empty() {
            return;
        }
        let kb = key.as_bytes();
        let mut touched: Vec<u32> = Vec::new();
        let mut front = trigrams(kb, false);
        front.sort_unstable();
        front.dedup();
        for &g in &front {
            for &t in &self.grams[g] {
                let c = &mut gram_counts[t as usize];
                if *c == 0 {
                    touched.push(t);
                }
                *c += 1;
            }
        }
        // The trigram closing the word counts for whole-word matches only.
        let end = gram_code(kb[qlen - 2], kb[qlen - 1], 0);
        for &t in &self.grams[end] {
            let c = &mut gram_counts[t as usize];
            if *c == 0 {
                touched.push(t);
            }
            *c += 0x100;
        }
        // A word of n letters has n trigrams here, and one edit (transposition
        // included) spoils at most 4 of the longer word's; long words get a
        // little more slack.
        let min_shared = |n: usize| n.saturating_sub(if n >= 10 { 5 } else { 4 }).max(1) as u16;
        let min_front = min_shared(qlen - 1);
        for t in touched {
            let c = std::mem::take(&mut gram_counts[t as usize]);
            let front_count = c & 0xff;
            let full_count = front_count + (c >> 8);
            let tlen = usize::from(self.term_lens[t as usize]);
            let whole = tlen.abs_diff(qlen) <= 2 && full_count >= min_shared(qlen.max(tlen));
            let front = typing && tlen > qlen && front_count >= min_front;
            if !(whole || front) {
                continue;
            }
            let tk = &*self.term_keys[t as usize];
            // Exact and prefix matches are already in.
            if tk.starts_with(key) || self.is_dead(t) {
                continue;
            }
            let mut best = 0f32;
            if whole && let Some(sim) = typo_similarity(key, tk) {
                best = FUZZY_BASE + FUZZY_SPAN * sim;
            }
            if front && let Some(sim) = typo_similarity(key, &tk[..qlen]) {
                best = best.max(0.45 + 0.25 * sim);
            }
            if best > 0.0 {
                out.push((t, best * factor));
            }
        }
    }

    fn score_identifiers(&self, query: &str, bump: &mut impl FnMut(u32, f32)) {
        let q = query.trim();
        // Ticket codes.
        let ticket = normalize_ticket(q);
        if !ticket.is_empty() {
            let prefix = ticket.len() >= 3 && ticket.bytes().any(|b| b.is_ascii_digit());
            for (key, slot) in id_range(&self.tickets, &ticket, prefix) {
                bump(
                    slot,
                    if key.len() == ticket.len() {
                        EXACT_ID_SCORE
                    } else {
                        1.3
                    },
                );
            }
        }
        // E-mail.
        if !q.chars().any(char::is_whitespace) {
            let email = normalize_email(q);
            if email.contains('@') {
                for (key, slot) in id_range(&self.emails, &email, true) {
                    bump(
                        slot,
                        if key.len() == email.len() {
                            EXACT_ID_SCORE
                        } else {
                            1.5
                        },
                    );
                }
            } else if email.len() >= 3 && email.is_ascii() {
                // The start of the local part, typed without the '@' yet.
                let typed = email.len() as f32;
                for (key, slot) in id_range(&self.emails, &email, true) {
                    let local = key.split('@').next().unwrap_or(key).len().max(1) as f32;
                    bump(slot, 0.85 + 0.1 * (typed / local).min(1.0));
                }
            }
        }
        // Phone: only digits and phone punctuation.
        if q.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
            let digits: String = q.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 10 {
                for (_, slot) in id_range(&self.phones, &digits[digits.len() - 10..], false) {
                    bump(slot, EXACT_ID_SCORE);
                }
            } else if digits.len() >= 3 {
                for (_, slot) in id_range(&self.phones, &digits, true) {
                    bump(slot, 1.2);
                }
                // "8916…" / "7916…": the start of a number without its country code.
                if digits.len() >= 4 && (digits.starts_with('7') || digits.starts_with('8')) {
                    for (_, slot) in id_range(&self.phones, &digits[1..], true) {
                        bump(slot, 1.2);
                    }
                }
            }
        }
    }
}

/// Per-thread work arrays for [`SearchIndex::search`], kept between calls so
/// that a query pays only for the entries it touches.
#[derive(Default)]
struct Scratch {
    /// Slot → score so far.
    score: Vec<f32>,
    /// Slot → 1 + index of the last query word that reached it.
    seen: Vec<u8>,
    /// Slot → how many query words reached it.
    matched: Vec<u8>,
    /// Term → shared trigram counts (reset by `match_terms` itself).
    gram_counts: Vec<u16>,
    /// Set while a search runs: still set at the start means one panicked
    /// half-way, and everything is cleared.
    busy: bool,
}

impl Scratch {
    fn prepare(&mut self, slots: usize, terms: usize) {
        if self.busy {
            self.score.fill(0.0);
            self.seen.fill(0);
            self.matched.fill(0);
            self.gram_counts.fill(0);
        }
        self.busy = true;
        if self.score.len() < slots {
            self.score.resize(slots, 0.0);
            self.seen.resize(slots, 0);
            self.matched.resize(slots, 0);
        }
        if self.gram_counts.len() < terms {
            self.gram_counts.resize(terms, 0);
        }
    }

    fn finish(&mut self, touched: &[u32]) {
        for &slot in touched {
            let k = slot as usize;
            self.score[k] = 0.0;
            self.seen[k] = 0;
            self.matched[k] = 0;
        }
        self.busy = false;
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Sort key packing the first 18 letters of a name, 7 bits each, so equal
/// scores order alphabetically (ё as е, Cyrillic before Latin) cheaply.
fn order_key(name: &str) -> u128 {
    const LETTERS: u32 = 18;
    let mut key = 0u128;
    let mut n = 0;
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if n == LETTERS {
            break;
        }
        let code = match c {
            'ё' => 20 + ('е' as u32 - 'а' as u32),
            'а'..='я' => 20 + (c as u32 - 'а' as u32),
            '0'..='9' => 8 + (c as u32 - '0' as u32),
            'a'..='z' => 60 + (c as u32 - 'a' as u32),
            c if c.is_alphabetic() => 100,
            _ => 1,
        };
        key = key << 7 | u128::from(code);
        n += 1;
    }
    key << (7 * (LETTERS - n))
}

/// Normalised identifiers with the slots carrying them.
type IdSet = BTreeSet<IdEntry>;

/// Identifiers up to this many bytes are kept inside their [`IdEntry`].
const INLINE_ID: usize = 26;

/// One entry of an identifier set: a normalised identifier and the slot
/// carrying it, ordered by identifier, then slot. Identifiers up to
/// [`INLINE_ID`] bytes (every ticket code and phone, most e-mails) live in the
/// entry itself, which is no bigger than a `(Box<str>, u32)`: a heap string
/// per entry costs 32 bytes or more, about 8 MB at 100,000 attendees.
#[derive(Clone)]
enum IdEntry {
    Inline {
        slot: u32,
        len: u8,
        bytes: [u8; INLINE_ID],
    },
    Heap {
        slot: u32,
        key: Box<str>,
    },
}

const _: () = assert!(std::mem::size_of::<IdEntry>() == 32);

impl IdEntry {
    fn new(key: &str, slot: u32) -> IdEntry {
        if key.len() <= INLINE_ID {
            let mut bytes = [0; INLINE_ID];
            bytes[..key.len()].copy_from_slice(key.as_bytes());
            IdEntry::Inline {
                slot,
                len: key.len() as u8,
                bytes,
            }
        } else {
            IdEntry::Heap {
                slot,
                key: key.into(),
            }
        }
    }

    fn key(&self) -> &str {
        match self {
            // A whole str was copied in, so the bytes are valid UTF-8.
            IdEntry::Inline { len, bytes, .. } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).expect("a whole identifier")
            }
            IdEntry::Heap { key, .. } => key,
        }
    }

    fn key_bytes(&self) -> &[u8] {
        match self {
            IdEntry::Inline { len, bytes, .. } => &bytes[..usize::from(*len)],
            IdEntry::Heap { key, .. } => key.as_bytes(),
        }
    }

    fn slot(&self) -> u32 {
        match self {
            IdEntry::Inline { slot, .. } | IdEntry::Heap { slot, .. } => *slot,
        }
    }
}

impl Ord for IdEntry {
    /// As `(key, slot)`: byte order is `str` order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key_bytes()
            .cmp(other.key_bytes())
            .then(self.slot().cmp(&other.slot()))
    }
}

impl PartialOrd for IdEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for IdEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for IdEntry {}

/// The entries of `set` whose key equals `key` or, with `prefix`, starts with
/// it (at most [`MAX_ID_PREFIX_HITS`] of those beyond the exact ones).
fn id_range<'a>(set: &'a IdSet, key: &'a str, prefix: bool) -> impl Iterator<Item = (&'a str, u32)> + 'a {
    let mut beyond = 0;
    set.range(IdEntry::new(key, 0)..)
        .map(|e| (e.key(), e.slot()))
        .take_while(move |&(k, _)| {
            if k.len() == key.len() {
                k == key
            } else {
                beyond += 1;
                prefix && beyond <= MAX_ID_PREFIX_HITS && k.starts_with(key)
            }
        })
}

/// How close two keys are, in 0..=1, or `None` when they are too far apart
/// to be the same word with a typo.
fn typo_similarity(a: &str, b: &str) -> Option<f32> {
    let len = a.len().min(b.len());
    let jw = jaro_winkler(a, b);
    let ok = jw >= 0.88
        || (jw >= 0.8
            && ((len >= 5 && osa_within(a.as_bytes(), b.as_bytes(), 1))
                || (len >= 8 && osa_within(a.as_bytes(), b.as_bytes(), 2))));
    ok.then(|| (((jw - 0.8) / 0.2).clamp(0.0, 1.0)) as f32)
}

/// Longest key compared without allocating; longer ones go to `strsim`.
const SHORT_KEY: usize = 64;

/// Jaro-Winkler similarity of two ASCII keys (as `strsim::jaro_winkler`).
fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a.len() > SHORT_KEY || b.len() > SHORT_KEY {
        return strsim::jaro_winkler(a, b);
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.is_empty() || b.is_empty() {
        return if a.len() == b.len() { 1.0 } else { 0.0 };
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_hit = [false; SHORT_KEY];
    let mut b_hit = [false; SHORT_KEY];
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let hi = (i + window + 1).min(b.len());
        for j in i.saturating_sub(window)..hi {
            if !b_hit[j] && b[j] == ca {
                a_hit[i] = true;
                b_hit[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut half_transpositions = 0usize;
    let mut j = 0;
    for (i, &ca) in a.iter().enumerate() {
        if a_hit[i] {
            while !b_hit[j] {
                j += 1;
            }
            if b[j] != ca {
                half_transpositions += 1;
            }
            j += 1;
        }
    }
    let m = matches as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - (half_transpositions / 2) as f64) / m) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    jaro + 0.1 * prefix as f64 * (1.0 - jaro)
}

/// Whether the optimal-string-alignment distance of `a` and `b` is at most `k`.
fn osa_within(a: &[u8], b: &[u8], k: usize) -> bool {
    if a.len().abs_diff(b.len()) > k {
        return false;
    }
    if a.len() > SHORT_KEY || b.len() > SHORT_KEY {
        return strsim::generic_damerau_levenshtein(a, b) <= k;
    }
    // Three rolling rows of the DP table (values stay below 65).
    let mut two_back = [0u8; SHORT_KEY + 1];
    let mut prev = [0u8; SHORT_KEY + 1];
    let mut cur = [0u8; SHORT_KEY + 1];
    for (j, p) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *p = j as u8;
    }
    let k = k.min(SHORT_KEY) as u8;
    for i in 1..=a.len() {
        cur[0] = i as u8;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(two_back[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > k {
            return false;
        }
        std::mem::swap(&mut two_back, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] <= k
}

// ----- identifiers -------------------------------------------------------------

fn normalize_email(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Digits only; the last 10 when there are more. `None` under 5 digits.
fn normalize_phone(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0..5 => None,
        10.. => Some(digits[digits.len() - 10..].to_string()),
        _ => Some(digits),
    }
}

/// Upper-case letters and digits only, so "abc-123 " equals "ABC123".
fn normalize_ticket(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

// ----- trigrams ----------------------------------------------------------------

const GRAM_BASE: usize = 38;
const GRAM_SPACE: usize = GRAM_BASE * GRAM_BASE * GRAM_BASE;

fn gram_digit(b: u8) -> usize {
    match b {
        b'a'..=b'z' => (b - b'a') as usize + 1,
        b'0'..=b'9' => (b - b'0') as usize + 27,
        _ => 0,
    }
}

fn gram_code(a: u8, b: u8, c: u8) -> usize {
    (gram_digit(a) * GRAM_BASE + gram_digit(b)) * GRAM_BASE + gram_digit(c)
}

/// Trigrams of `^key$` (or of `^key` when `with_end` is false).
fn trigrams(key: &[u8], with_end: bool) -> Vec<usize> {
    let mut padded = Vec::with_capacity(key.len() + 2);
    padded.push(0);
    padded.extend_from_slice(key);
    if with_end {
        padded.push(0);
    }
    padded.windows(3).map(|w| gram_code(w[0], w[1], w[2])).collect()
}

// ----- words and keys ----------------------------------------------------------

/// Ways of reading ambiguous Latin spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// Russian-style romanisation (and the way Cyrillic itself is read).
    Plain,
    /// `ch` = ш, `j` = ж, `c` before e/i = s (Tchoupcheva, Jukov).
    French,
    /// `j` = дж, `c` before e/i = s (John, Jessica).
    English,
    /// `ch` = х, `z` = ц (Michail, Zwetkow).
    German,
}

/// Apostrophes and the like vanish inside a word: "Il'ya" is one word.
fn is_joiner(c: char) -> bool {
    matches!(
        c,
        '\'' | '’' | '‘' | 'ʼ' | 'ʹ' | 'ʻ' | '`' | '´' | '\u{ad}' | '\u{200c}' | '\u{200d}'
    ) || is_combining_mark(c)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_joiner(c)
}

/// Raw spelling of one lower-case char: lower-case ASCII letters and digits
/// read by the Latin rules, plus phoneme markers (`C S Z T H`) for sounds
/// that are unambiguous (Cyrillic letters, Latin letters with a caron, …).
/// The bool is true for a Cyrillic letter.
fn raw_of(c: char, out: &mut Vec<u8>) -> bool {
    let s: &[u8] = match c {
        'a'..='z' | '0'..='9' => {
            out.push(c as u8);
            return false;
        }
        'а' => b"a",
        'б' => b"b",
        'в' => b"v",
        'г' => b"g",
        'д' => b"d",
        'е' | 'ё' | 'э' => b"e",
        'ж' | 'җ' => &[ZH],
        'з' => b"z",
        'и' | 'і' => b"i",
        'й' | 'ы' | 'ј' => b"y",
        'к' | 'қ' | 'ќ' => b"k",
        'л' => b"l",
        'м' => b"m",
        'н' | 'ң' => b"n",
        'о' | 'ө' => b"o",
        'п' => b"p",
        'р' => b"r",
        'с' => b"s",
        'т' => b"t",
        'у' | 'ў' | 'ү' | 'ұ' => b"u",
        'ф' => b"f",
        'х' | 'һ' => &[KH],
        'ц' => &[TS],
        'ч' | 'ћ' => &[CH],
        'ш' | 'щ' => &[SH],
        'ъ' | 'ь' => b"",
        'ю' => b"yu",
        'я' => b"ya",
        'ї' => b"yi",
        'є' => b"ye",
        'ґ' | 'ғ' | 'ѓ' => b"g",
        'љ' => b"ly",
        'њ' => b"ny",
        'ђ' | 'џ' => &[b'd', ZH],
        'ѕ' => b"dz",
        'ә' => b"a",
        _ => {
            latin_raw(c, out);
            return false;
        }
    };
    out.extend_from_slice(s);
    true
}

/// Latin letters beyond ASCII: the ones that carry a sound of their own get a
/// marker, the rest lose their accents. Anything else (other scripts) adds
/// nothing.
fn latin_raw(c: char, out: &mut Vec<u8>) {
    let s: &[u8] = match c {
        'č' | 'ć' | 'ĉ' | 'ç' => &[CH],
        'š' | 'ś' | 'ŝ' | 'ș' | 'ş' => &[SH],
        'ž' | 'ź' | 'ż' | 'ʒ' => &[ZH],
        'ř' => &[b'r', ZH],
        'ł' => b"l",
        'đ' | 'ð' => b"d",
        'ß' => b"ss",
        'æ' => b"ae",
        'œ' => b"oe",
        'ø' => b"o",
        'þ' => b"t",
        'ı' => b"i",
        _ => {
            for d in std::iter::once(c).nfd() {
                if d.is_ascii_alphanumeric() {
                    out.push(d.to_ascii_lowercase() as u8);
                }
            }
            return;
        }
    };
    out.extend_from_slice(s);
}

/// Split `text` into words and call `f(raw, is_cyrillic)` for each non-empty
/// raw spelling (see [`raw_of`]).
fn for_each_word(text: &str, mut f: impl FnMut(&[u8], bool)) {
    let mut raw: Vec<u8> = Vec::new();
    let mut cyr = false;
    let mut in_word = false;
    for c in text.nfc() {
        if is_joiner(c) {
            continue;
        }
        if c.is_alphanumeric() {
            in_word = true;
            for l in c.to_lowercase() {
                if !is_combining_mark(l) {
                    cyr |= raw_of(l, &mut raw);
                }
            }
        } else if in_word {
            if !raw.is_empty() {
                f(&raw, cyr);
            }
            raw.clear();
            cyr = false;
            in_word = false;
        }
    }
    if !raw.is_empty() {
        f(&raw, cyr);
    }
}

/// The keys to look a query word up by, each with its score factor.
fn query_keys(raw: &[u8], cyr: bool, typing: bool) -> Vec<(String, f32)> {
    let mut keys: Vec<(String, f32)> = Vec::with_capacity(4);
    let mut add = |key: String, factor: f32| {
        if key.is_empty() {
            return;
        }
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some((_, f)) => *f = f.max(factor),
            None => keys.push((key, factor)),
        }
    };
    add(key_of_raw(raw, Flavor::Plain), 1.0);
    let latin = raw.iter().any(u8::is_ascii_lowercase);
    if cyr {
        // Cyrillic "дж" stands for a Latin "j": "Джон" → "John".
        if raw.windows(2).any(|w| w == [b'd', ZH]) {
            let mut alt = Vec::with_capacity(raw.len());
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == b'd' && raw.get(i + 1) == Some(&ZH) {
                    alt.push(b'j');
                    i += 2;
                } else {
                    alt.push(raw[i]);
                    i += 1;
                }
            }
            add(key_of_raw(&alt, Flavor::Plain), VARIANT_FACTOR);
        }
    } else if latin {
        for flavor in [Flavor::French, Flavor::English, Flavor::German] {
            add(key_of_raw(raw, flavor), VARIANT_FACTOR);
        }
        // A word being typed may stop in the middle of a digraph: "C" of
        // "Ch", "K" of "Kh".
        if typing && matches!(raw.last(), Some(b'c' | b'k')) {
            let mut alt = raw.to_vec();
            alt.push(b'h');
            add(key_of_raw(&alt, Flavor::Plain), VARIANT_FACTOR);
        }
    }
    keys
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

fn is_consonant(b: u8) -> bool {
    (b.is_ascii_lowercase() && !is_vowel(b)) || matches!(b, CH | SH | ZH | TS | KH)
}

/// The phonetic key of one raw word.
fn key_of_raw(raw: &[u8], flavor: Flavor) -> String {
    let p = consonants(raw, flavor);
    let p = merge_sibilants(&p);
    let p = glides(&p);
    let p: Vec<u8> = p.into_iter().map(|b| if b == b'y' { b'i' } else { b }).collect();
    let p = collapse(&p);
    let p = drop_i_before_e(&p);
    let p = drop_h(&p);
    let p = collapse(&p);
    render(&p)
}

/// Pass 1: Latin letter groups to phonemes (markers pass through).
fn consonants(raw: &[u8], flavor: Flavor) -> Vec<u8> {
    let at = |i: usize| raw.get(i).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(raw.len() + 2);
    let mut i = 0;
    while i < raw.len() {
        let (b, b1, b2, b3) = (raw[i], at(i + 1), at(i + 2), at(i + 3));
        let (emit, used): (&[u8], usize) = match b {
            b't' if b1 == b's' && b2 == b'c' && b3 == b'h' => (&[CH], 4),
            b't' if (b1 == b'c' || b1 == b's') && b2 == b'h' => (&[CH], 3),
            b't' if b1 == b's' || b1 == b'z' => (&[TS], 2),
            b't' if b1 == b'h' => (b"t", 2),
            b's' if b1 == b'c' && b2 == b'h' => (&[SH], 3),
            b's' if b1 == b'h' || b1 == b'z' => (&[SH], 2),
            b'c' if b1 == b'z' => (&[CH], 2),
            b'c' if b1 == b'h' && b2 == b'r' => (b"k", 2),
            b'c' if b1 == b'h' => match flavor {
                Flavor::French => (&[SH], 2),
                Flavor::German => (&[KH], 2),
                _ => (&[CH], 2),
            },
            b'c' if b1 == b'k' => (b"k", 2),
            b'c' if matches!(b1, b'e' | b'i' | b'y') => match flavor {
                Flavor::French | Flavor::English => (b"s", 1),
                _ => (&[TS], 1),
            },
            b'c' => (b"k", 1),
            b'z' if b1 == b'h' => (&[ZH], 2),
            b'z' if flavor == Flavor::German => (&[TS], 1),
            b'k' if b1 == b'h' => (&[KH], 2),
            b'p' if b1 == b'h' => (b"f", 2),
            b'g' if b1 == b'h' => (b"g", 2),
            b'd' if b1 == b'j' => (&[b'd', ZH], 2),
            b'q' if b1 == b'u' => (b"kv", 2),
            b'q' => (b"k", 1),
            b'x' => (b"ks", 1),
            b'w' => (b"v", 1),
            b'h' => (&[KH], 1),
            b'j' => match flavor {
                Flavor::French => (&[ZH], 1),
                Flavor::English => (&[b'd', ZH], 1),
                _ => (b"y", 1),
            },
            b'o' if b1 == b'u' => (b"u", 2),
            _ => {
                out.push(b);
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(emit);
        i += used;
    }
    out
}

/// `s`/`sh` + `ch` → `sh` (щ: shch, sch, szcz), `t` + `ch`/`sh` → `ch`.
fn merge_sibilants(p: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    for &b in p {
        match (out.last().copied(), b) {
            (Some(b's' | SH), CH) => *out.last_mut().expect("non-empty") = SH,
            (Some(b't'), CH | SH) => *out.last_mut().expect("non-empty") = CH,
            _ => out.push(b),
        }
    }
    out
}

/// `ye` → `e`; `yo`/`io` after a consonant → `e` (Fyodor, Pyotr, Semion).
fn glides(p: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        let b = p[i];
        let next = p.get(i + 1).copied();
        let after_consonant = out.last().is_some_and(|&l| is_consonant(l));
        if (b == b'y' && next == Some(b'e'))
            || ((b == b'y' || b == b'i') && next == Some(b'o') && after_consonant)
        {
            out.push(b'e');
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// Runs of one phoneme → one.
fn collapse(p: &[u8]) -> Vec<u8> {
    let mut out = p.to_vec();
    out.dedup();
    out
}

/// `ie` after a consonant → `e` (Afanasiev = Afanasyev = Афанасьев).
fn drop_i_before_e(p: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    for (i, &b) in p.iter().enumerate() {
        if b == b'i' && p.get(i + 1) == Some(&b'e') && out.last().is_some_and(|&l| is_consonant(l)) {
            continue;
        }
        out.push(b);
    }
    out
}

/// `h` after a vowel and before a consonant or the end is silent (John, Sarah).
fn drop_h(p: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    for (i, &b) in p.iter().enumerate() {
        if b == KH
            && out.last().is_some_and(|&l| is_vowel(l))
            && p.get(i + 1).is_none_or(|&n| is_consonant(n))
        {
            continue;
        }
        out.push(b);
    }
    out
}

fn render(p: &[u8]) -> String {
    let mut s = String::with_capacity(p.len() + 4);
    for &b in p {
        match b {
            CH => s.push_str("ch"),
            SH => s.push_str("sh"),
            ZH => s.push_str("zh"),
            TS => s.push_str("ts"),
            KH => s.push('h'),
            _ => s.push(b as char),
        }
    }
    s
}

/// The phonetic Latin key of any text (Cyrillic or Latin), lower-case ASCII
/// words separated by single spaces: "Чупшева", "Tschupschewa" and "Čupševa"
/// all give `chupsheva`; "Алексей", "Alexey" and "Aleksei" give `aleksei`.
pub fn phonetic_key(text: &str) -> String {
    let mut out = String::new();
    for_each_word(text, |raw, _| {
        let key = key_of_raw(raw, Flavor::Plain);
        if !key.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&key);
        }
    });
    out
}

// ----- readable transliteration -----------------------------------------------

/// Readable Latin spelling of one lower-case Cyrillic letter; `None` for
/// anything else. `next` is the following letter, lower-cased.
fn translit_letter(c: char, next: Option<char>) -> Option<&'static str> {
    Some(match c {
        'а' | 'ә' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' | 'ғ' | 'ѓ' => "g",
        'д' => "d",
        'е' | 'э' => "e",
        'ё' => "yo",
        'ж' | 'җ' => "zh",
        'з' => "z",
        'и' | 'і' => "i",
        'й' | 'ј' => "y",
        // "ый" reads "y", not "yy".
        'ы' if next == Some('й') => "",
        'ы' => "y",
        'к' | 'қ' | 'ќ' => "k",
        'л' => "l",
        'м' => "m",
        'н' | 'ң' => "n",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ў' | 'ү' | 'ұ' => "u",
        'ф' => "f",
        'х' | 'һ' => "kh",
        'ц' => "ts",
        'ч' | 'ћ' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' => "",
        // A soft sign before е/и is heard as "y" (Afanasyev, Ilyin).
        'ь' if matches!(next, Some('е' | 'и')) => "y",
        'ь' => "",
        'ю' => "yu",
        'я' => "ya",
        'ї' => "yi",
        'є' => "ye",
        'љ' => "lj",
        'њ' => "nj",
        'ђ' => "dj",
        'џ' => "dzh",
        'ѕ' => "dz",
        _ => return None,
    })
}

/// Cyrillic → Latin transliteration (readable, e.g. for a Latin name line on a
/// badge): "Алексей Чупшева" → "Aleksey Chupsheva". Other characters are kept
/// as they are; an all-capitals word stays in capitals.
pub fn transliterate(text: &str) -> String {
    let chars: Vec<char> = text.nfc().collect();
    let lower1 = |c: char| c.to_lowercase().next().unwrap_or(c);
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let lc = lower1(c);
        let next = chars.get(i + 1).copied();
        let Some(latin) = translit_letter(lc, next.map(lower1)) else {
            out.push(c);
            continue;
        };
        if !c.is_uppercase() || latin.is_empty() {
            out.push_str(latin);
            continue;
        }
        let neighbour_upper = |o: Option<char>| o.is_some_and(|o| o.is_alphabetic() && o.is_uppercase());
        let prev = i.checked_sub(1).map(|j| chars[j]);
        if neighbour_upper(next) || (neighbour_upper(prev) && !next.is_some_and(char::is_lowercase)) {
            out.push_str(&latin.to_ascii_uppercase());
        } else {
            let mut it = latin.chars();
            if let Some(first) = it.next() {
                out.push(first.to_ascii_uppercase());
                out.push_str(it.as_str());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of the core's attendee that the index reads, and the
    /// revocation flag the store filters on.
    #[derive(Debug, Clone, Default)]
    struct Person {
        id: Uuid,
        full_name: String,
        latin_name: Option<String>,
        organization: Option<String>,
        email: Option<String>,
        phone: Option<String>,
        ticket_codes: Vec<String>,
        /// Indexed like anyone else: the store leaves revoked people out.
        #[allow(dead_code)]
        revoked: bool,
    }

    impl Searchable for Person {
        fn id(&self) -> Uuid {
            self.id
        }
        fn full_name(&self) -> &str {
            &self.full_name
        }
        fn latin_name(&self) -> Option<&str> {
            self.latin_name.as_deref()
        }
        fn organization(&self) -> Option<&str> {
            self.organization.as_deref()
        }
        fn email(&self) -> Option<&str> {
            self.email.as_deref()
        }
        fn phone(&self) -> Option<&str> {
            self.phone.as_deref()
        }
        fn ticket_codes(&self) -> &[String] {
            &self.ticket_codes
        }
    }

    const SURNAMES: &[&str] = &[
        "Смирнов",
        "Кузнецов",
        "Попов",
        "Васильев",
        "Петров",
        "Соколов",
        "Михайлов",
        "Новиков",
        "Фёдоров",
        "Морозов",
        "Волков",
        "Алексеев",
        "Лебедев",
        "Семёнов",
        "Егоров",
        "Павлов",
        "Козлов",
        "Степанов",
        "Николаев",
        "Орлов",
        "Андреев",
        "Макаров",
        "Никитин",
        "Захаров",
        "Зайцев",
        "Соловьёв",
        "Борисов",
        "Яковлев",
        "Григорьев",
        "Романов",
        "Воробьёв",
        "Сергеев",
        "Кузьмин",
        "Фролов",
        "Александров",
        "Дмитриев",
        "Королёв",
        "Гусев",
        "Киселёв",
        "Ильин",
        "Максимов",
        "Поляков",
        "Сорокин",
        "Виноградов",
        "Ковалёв",
        "Белов",
        "Медведев",
        "Антонов",
        "Тарасов",
        "Жуков",
        "Баранов",
        "Филиппов",
        "Комаров",
        "Давыдов",
        "Беляев",
        "Герасимов",
        "Богданов",
        "Осипов",
        "Сидоров",
        "Матвеев",
        "Титов",
        "Марков",
        "Миронов",
        "Крылов",
        "Куликов",
        "Карпов",
        "Власов",
        "Мельников",
        "Денисов",
        "Гаврилов",
        "Тихонов",
        "Казаков",
        "Афанасьев",
        "Данилов",
        "Савельев",
        "Тимофеев",
        "Фомин",
        "Чернов",
        "Щербаков",
        "Чупахин",
        "Шубин",
        "Чуприн",
        "Пушкарёв",
        "Шевцов",
        "Цветков",
        "Хохлов",
        "Бережков",
        "Зубков",
        "Чупров",
        "Журавлёв",
        "Ерёмин",
        "Юдин",
        "Ящук",
    ];
    const MALE: &[&str] = &[
        "Александр",
        "Дмитрий",
        "Максим",
        "Сергей",
        "Андрей",
        "Артём",
        "Иван",
        "Михаил",
        "Никита",
        "Матвей",
        "Роман",
        "Егор",
        "Арсений",
        "Владимир",
        "Денис",
        "Евгений",
        "Даниил",
        "Тимофей",
        "Игорь",
        "Павел",
        "Константин",
        "Николай",
        "Олег",
        "Виктор",
        "Юрий",
        "Антон",
        "Пётр",
        "Фёдор",
        "Кирилл",
        "Борис",
    ];
    const FEMALE: &[&str] = &[
        "Анастасия",
        "Мария",
        "Анна",
        "Виктория",
        "Екатерина",
        "Наталья",
        "Марина",
        "Полина",
        "Дарья",
        "Алиса",
        "Ксения",
        "Александра",
        "Елена",
        "Ольга",
        "Татьяна",
        "Ирина",
        "Юлия",
        "Светлана",
        "Людмила",
        "Вера",
        "Надежда",
        "Галина",
        "Алёна",
        "Илона",
    ];
    const PATRONYMIC_STEMS: &[&str] = &[
        "Александров",
        "Дмитриев",
        "Сергеев",
        "Андреев",
        "Михайлов",
        "Владимиров",
        "Николаев",
        "Петров",
        "Юрьев",
        "Викторов",
        "Олегов",
        "Павлов",
        "Игорев",
        "Евгеньев",
        "Борисов",
        "Алексеев",
        "Иванов",
    ];
    const ORGS: &[&str] = &[
        "ООО «Ромашка»",
        "Фонд «Городские инициативы»",
        "МГУ им. М. В. Ломоносова",
        "АНО «Социальные проекты»",
        "Минтруд России",
        "ВШЭ",
        "ПАО «Сбербанк»",
        "Газпром",
    ];

    /// Tiny deterministic generator (LCG) so tests need no extra crates.
    struct Lcg(u64);
    impl Lcg {
        fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            list[((self.0 >> 33) as usize) % list.len()]
        }
    }

    fn feminine(surname: &str) -> String {
        if let Some(stem) = surname.strip_suffix("ий") {
            format!("{stem}ая")
        } else if surname.ends_with("ов")
            || surname.ends_with("ев")
            || surname.ends_with("ёв")
            || surname.ends_with("ин")
        {
            format!("{surname}а")
        } else {
            surname.to_string()
        }
    }

    fn person(n: u128, full_name: &str) -> Person {
        Person {
            id: Uuid::from_u128(n),
            full_name: full_name.to_string(),
            ..Person::default()
        }
    }

    /// `count` realistic Russian names with ids from 1_000_000 up.
    fn distractors(count: usize) -> Vec<Person> {
        let mut rng = Lcg(42);
        (0..count)
            .map(|i| {
                let surname = rng.pick(SURNAMES);
                let stem = rng.pick(PATRONYMIC_STEMS);
                let name = if i % 2 == 0 {
                    format!("{} {} {}ич", surname, rng.pick(MALE), stem)
                } else {
                    format!("{} {} {}на", feminine(surname), rng.pick(FEMALE), stem)
                };
                let mut a = person(1_000_000 + i as u128, &name);
                if i % 3 == 0 {
                    a.organization = Some(rng.pick(ORGS).to_string());
                }
                if i % 4 == 0 {
                    a.email = Some(format!("user{i}@example.com"));
                    a.phone = Some(format!("+7 (903) {:03}-{:02}-{:02}", i % 1000, i % 97, i % 89));
                    a.ticket_codes = vec![format!("REG-{:06}", i)];
                }
                a
            })
            .collect()
    }

    const CHUPSHEVA: u128 = 1;
    const BEREZHNOY: u128 = 2;
    const ZUBAREV: u128 = 3;
    const SMITH: u128 = 4;
    const IVANOV: u128 = 5;
    const IVANOVA: u128 = 6;
    const REVOKED: u128 = 7;

    fn targets() -> Vec<Person> {
        let mut chupsheva = person(CHUPSHEVA, "Чупшева Анна Викторовна");
        chupsheva.email = Some("A.Chupsheva@example.org".into());
        chupsheva.phone = Some("+7 (916) 123-45-67".into());
        chupsheva.ticket_codes = vec!["TKT-48151623".into()];
        chupsheva.organization = Some("АНО «Городские проекты»".into());
        let mut berezhnoy = person(BEREZHNOY, "Бережной Алексей Петрович");
        berezhnoy.latin_name = Some("Aleksei Berezhnoi".into());
        let zubarev = person(ZUBAREV, "Зубарев Илья Сергеевич");
        let mut smith = person(SMITH, "John Smith");
        smith.organization = Some("Acme Ltd".into());
        let ivanov = person(IVANOV, "Иванов Иван Иванович");
        let ivanova = person(IVANOVA, "Иванова Мария Петровна");
        let mut revoked = person(REVOKED, "Куприянова Ольга Олеговна");
        revoked.revoked = true;
        vec![chupsheva, berezhnoy, zubarev, smith, ivanov, ivanova, revoked]
    }

    fn fixture() -> SearchIndex {
        let mut index = SearchIndex::new();
        for a in distractors(400).iter().chain(targets().iter()) {
            index.upsert(a);
        }
        index
    }

    fn first(index: &SearchIndex, query: &str) -> Option<u128> {
        index.search(query, 10).first().map(|h| h.id.as_u128())
    }

    #[test]
    fn phonetic_keys_fold_spellings() {
        let cases: &[(&str, &str)] = &[
            ("Чупшева", "chupsheva"),
            ("Chupsheva", "chupsheva"),
            ("Čupševa", "chupsheva"),
            ("Tschupschewa", "chupsheva"),
            ("Czupszewa", "chupsheva"),
            ("чупш", "chupsh"),
            ("chupsh", "chupsh"),
            ("Алексей", "aleksei"),
            ("Aleksey", "aleksei"),
            ("Alexey", "aleksei"),
            ("Aleksei", "aleksei"),
            ("Aleksej", "aleksei"),
            ("Илья", "ilia"),
            ("Ilya", "ilia"),
            ("Ilia", "ilia"),
            ("Il'ya", "ilia"),
            ("Il’ya", "ilia"),
            ("Дмитрий", "dmitri"),
            ("Dmitry", "dmitri"),
            ("Dmitriy", "dmitri"),
            ("Фёдор", "fedor"),
            ("Федор", "fedor"),
            ("Fyodor", "fedor"),
            ("Щукин", "shukin"),
            ("Shchukin", "shukin"),
            ("Юлия", "iulia"),
            ("Julia", "iulia"),
            ("Yuliya", "iulia"),
            ("Евгений", "evgeni"),
            ("Yevgeny", "evgeni"),
            ("Афанасьев", "afanasev"),
            ("Afanasyev", "afanasev"),
            ("Afanasiev", "afanasev"),
            ("Хабибуллин", "habibulin"),
            ("Khabibullin", "habibulin"),
            ("Habibullin", "habibulin"),
            ("Цветков", "tsvetkov"),
            ("Tsvetkov", "tsvetkov"),
            ("Tzvetkov", "tsvetkov"),
            ("Ксения", "ksenia"),
            ("Xenia", "ksenia"),
            ("Жуков", "zhukov"),
            ("Žukov", "zhukov"),
            ("Tchaikovsky", "chaikovski"),
            ("Чайковский", "chaikovski"),
            ("Майоров", "maiorov"),
            ("Mayorov", "maiorov"),
            ("Петров-Водкин", "petrov vodkin"),
            ("  ЧУПШЕВА,   Анна ", "chupsheva ana"),
            ("", ""),
            ("—!?", ""),
        ];
        for (text, key) in cases {
            assert_eq!(phonetic_key(text), *key, "phonetic_key({text:?})");
        }
    }

    #[test]
    fn transliteration_is_readable() {
        let cases: &[(&str, &str)] = &[
            ("Алексей Чупшева", "Aleksey Chupsheva"),
            ("Илья", "Ilya"),
            ("Ильин", "Ilyin"),
            ("Афанасьев", "Afanasyev"),
            ("Фёдор", "Fyodor"),
            ("Щукин", "Shchukin"),
            ("Хабибуллин", "Khabibullin"),
            ("Юлия Цой", "Yuliya Tsoy"),
            ("Дмитрий Белый", "Dmitriy Bely"),
            ("Жанна Ёлкина", "Zhanna Yolkina"),
            ("ЧУПШЕВА", "CHUPSHEVA"),
            ("ООО «Ромашка»", "OOO «Romashka»"),
            ("John Smith", "John Smith"),
            ("Подъячев", "Podyachev"),
        ];
        for (text, latin) in cases {
            assert_eq!(transliterate(text), *latin, "transliterate({text:?})");
        }
    }

    #[test]
    fn expected_person_first_among_distractors() {
        let index = fixture();
        assert_eq!(index.len(), 407);
        let cases: &[(&str, u128)] = &[
            // Scripts and spellings.
            ("Чупшева", CHUPSHEVA),
            ("чупшева", CHUPSHEVA),
            ("ЧУПШЕВА", CHUPSHEVA),
            ("Chupsheva", CHUPSHEVA),
            ("Čupševa", CHUPSHEVA),
            ("Tchoupcheva", CHUPSHEVA),
            ("Tschupschewa", CHUPSHEVA),
            ("chupsh", CHUPSHEVA),
            ("чупш", CHUPSHEVA),
            ("Aleksey", BEREZHNOY),
            ("Alexey", BEREZHNOY),
            ("Aleksei", BEREZHNOY),
            ("Алексей", BEREZHNOY),
            ("Berezhnoy", BEREZHNOY),
            ("Berejnoi", BEREZHNOY),
            ("Ilya", ZUBAREV),
            ("Ilia", ZUBAREV),
            ("Il'ya", ZUBAREV),
            ("Илья", ZUBAREV),
            ("Zoubarev Ilia", ZUBAREV),
            ("Zubarew", ZUBAREV),
            ("Aleksej Berezhnoj", BEREZHNOY),
            // Word order.
            ("Чупшева Анна", CHUPSHEVA),
            ("Анна Чупшева", CHUPSHEVA),
            ("anna chupsheva", CHUPSHEVA),
            ("Chupsheva Anna Viktorovna", CHUPSHEVA),
            ("Алексей Бережной", BEREZHNOY),
            ("Berezhnoy Alexey", BEREZHNOY),
            ("Петрович Бережной", BEREZHNOY),
            ("Ilya Zubarev", ZUBAREV),
            ("Chupsheva Анна", CHUPSHEVA),
            ("Anna  Chupsheva ", CHUPSHEVA),
            // As you type.
            ("Чупш", CHUPSHEVA),
            ("Чупше", CHUPSHEVA),
            ("Tchoupch", CHUPSHEVA),
            ("Chupsh", CHUPSHEVA),
            ("Čupš", CHUPSHEVA),
            ("Бережн", BEREZHNOY),
            ("Зубарев И", ZUBAREV),
            ("Анна Чупш", CHUPSHEVA),
            ("Чупшева Ann", CHUPSHEVA),
            // Typos (one letter in a 6+ letter word).
            ("Чупшова", CHUPSHEVA),
            ("Чкпшева", CHUPSHEVA),
            ("Chupsheba", CHUPSHEVA),
            ("Chupshwva", CHUPSHEVA),
            ("Бережнлй", BEREZHNOY),
            ("Зубарнв", ZUBAREV),
            ("Анна Чупшнва", CHUPSHEVA),
            // Cyrillic query on a Latin-only name, and back.
            ("Джон Смит", SMITH),
            ("Смит", SMITH),
            ("Смит Джон", SMITH),
            ("джон", SMITH),
            ("John Smith", SMITH),
            ("Smith", SMITH),
            ("Acme", SMITH),
            ("Jon Smit", SMITH),
            ("Смитт", SMITH),
            ("Акме", SMITH),
            // Organisation, transliterated.
            ("Gorodskie proekty", CHUPSHEVA),
            // E-mail, phone, ticket.
            ("a.chupsheva@example.org", CHUPSHEVA),
            ("A.Chupsheva@Example.ORG", CHUPSHEVA),
            ("a.chupsheva@", CHUPSHEVA),
            ("a.chups", CHUPSHEVA),
            ("+7 (916) 123-45-67", CHUPSHEVA),
            ("89161234567", CHUPSHEVA),
            ("+7 916 123 45 67", CHUPSHEVA),
            ("9161234567", CHUPSHEVA),
            ("8916123", CHUPSHEVA),
            ("TKT-48151623", CHUPSHEVA),
            ("tkt48151623", CHUPSHEVA),
            (" tkt-4815", CHUPSHEVA),
            // Revoked attendees are still found.
            ("Куприянова", REVOKED),
            ("Kupriyanova Olga", REVOKED),
        ];
        let mut failures = Vec::new();
        for &(query, expected) in cases {
            let got = first(&index, query);
            if got != Some(expected) {
                failures.push(format!(
                    "{query:?}: expected {expected}, got {got:?} ({:?})",
                    index.search(query, 3)
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn exact_identifiers_rank_first() {
        let mut index = fixture();
        // Someone whose name looks like the other's e-mail.
        let mut b = person(99, "Chupsheva A");
        b.email = Some("anna.chupsheva@example.net".into());
        index.upsert(&b);
        for query in ["a.chupsheva@example.org", "89161234567", "TKT-48151623"] {
            let hits = index.search(query, 5);
            assert_eq!(hits[0].id.as_u128(), CHUPSHEVA, "{query}");
            assert_eq!(hits[0].score, EXACT_ID_SCORE, "{query}");
        }
        // The same phone written two ways by two people: both exact.
        let mut c = person(100, "Другой Человек");
        c.phone = Some("8 916 123 45 67".into());
        index.upsert(&c);
        let ids: Vec<u128> = index
            .search("+79161234567", 5)
            .iter()
            .filter(|h| h.score == EXACT_ID_SCORE)
            .map(|h| h.id.as_u128())
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&CHUPSHEVA) && ids.contains(&100));
    }

    #[test]
    fn exact_and_prefix_rank_above_fuzzy() {
        let index = fixture();
        let hits = index.search("иванов", 20);
        let pos = |id: u128| hits.iter().position(|h| h.id.as_u128() == id);
        assert_eq!(pos(IVANOV), Some(0), "{hits:?}");
        assert!(pos(IVANOVA).is_some_and(|p| p > 0), "{hits:?}");
        assert!(hits[0].score > hits[pos(IVANOVA).unwrap()].score);

        // "Иван" matches the first name exactly, "Иванов…" only by prefix.
        let hits = index.search("Иван Иванов", 5);
        assert_eq!(hits[0].id.as_u128(), IVANOV);

        // Prefix (still typing) beats a fuzzy match of the same length.
        let mut index = SearchIndex::new();
        index.upsert(&person(1, "Соколов Пётр"));
        index.upsert(&person(2, "Сокалов Пётр"));
        index.upsert(&person(3, "Соколовский Пётр"));
        let hits = index.search("соколов", 5);
        let ids: Vec<u128> = hits.iter().map(|h| h.id.as_u128()).collect();
        assert_eq!(ids, vec![1, 3, 2], "{hits:?}");
        assert!(hits[1].score > hits[2].score);
    }

    #[test]
    fn no_garbage() {
        let index = fixture();
        for query in ["xyz", "qwrtp", "jjjqqq", "!!!", "   ", "", "@", "--"] {
            let hits = index.search(query, 10);
            assert!(hits.len() <= 1, "{query:?}: {hits:?}");
        }
        assert!(index.search("   ", 10).is_empty());
        assert!(index.search("", 10).is_empty());
        assert!(index.search("Чупшева", 0).is_empty());
        // Everything returned clears the bar and comes best first.
        let hits = index.search("Анна Ч", 50);
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|h| h.score >= MIN_SCORE));
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(hits.len() <= 50);
    }

    #[test]
    fn upsert_replaces_and_remove_removes() {
        let mut index = fixture();
        let before = index.len();
        let mut a = targets().remove(0);
        a.full_name = "Тетерина Анна Викторовна".into();
        a.email = Some("teterina@example.org".into());
        a.phone = None;
        a.ticket_codes = vec!["NEW-777".into()];
        index.upsert(&a);
        assert_eq!(index.len(), before);
        assert_eq!(first(&index, "Тетерина"), Some(CHUPSHEVA));
        assert_eq!(first(&index, "teterina@example.org"), Some(CHUPSHEVA));
        assert_eq!(first(&index, "NEW-777"), Some(CHUPSHEVA));
        for old in [
            "Чупшева",
            "chupsh",
            "a.chupsheva@example.org",
            "89161234567",
            "TKT-48151623",
        ] {
            assert!(
                index.search(old, 10).iter().all(|h| h.id.as_u128() != CHUPSHEVA),
                "{old:?} still finds the old record"
            );
        }

        index.remove(a.id);
        assert_eq!(index.len(), before - 1);
        assert!(!index.contains(a.id));
        assert!(index.search("Тетерина", 10).is_empty());
        assert!(index.search("NEW-777", 10).is_empty());
        index.remove(a.id); // unknown id: no-op
        assert_eq!(index.len(), before - 1);

        // The freed slot is reused and works.
        index.upsert(&person(4242, "Чупшева Вера"));
        assert_eq!(index.len(), before);
        assert_eq!(first(&index, "Chupsheva Vera"), Some(4242));

        let mut empty = SearchIndex::new();
        assert!(empty.is_empty());
        empty.upsert(&person(1, "Иван"));
        empty.remove(Uuid::from_u128(1));
        assert!(empty.is_empty());
        assert!(empty.search("Иван", 5).is_empty());
    }

    #[test]
    fn doc_ids_keep_every_identifier() {
        let tickets: Vec<Box<str>> = vec!["A1".into(), "B2".into()];
        // An e-mail may hold a tab or a space inside: it is the last field.
        let ids = DocIds::new(Some("9161234567"), &tickets, Some("odd\t mail@x"));
        let (phone, found, email) = ids.parts();
        assert_eq!(phone, Some("9161234567"));
        assert_eq!(found.collect::<Vec<_>>(), ["A1", "B2"]);
        assert_eq!(email, Some("odd\t mail@x"));
        let ids = DocIds::new(None, &[], None);
        let (phone, mut found, email) = ids.parts();
        assert_eq!((phone, found.next(), email), (None, None, None));
    }

    #[test]
    fn long_identifiers_match_like_short_ones() {
        // 38 bytes: kept on the heap, the 14-byte one inside its entry.
        let long = "ivan.petrov@university-of-somewhere.ru";
        let mut index = SearchIndex::new();
        let mut a = person(1, "Иван Петров");
        a.email = Some(long.into());
        let mut b = person(2, "Пётр Иванов");
        b.email = Some("ivan.p@mail.ru".into());
        index.upsert(&a);
        index.upsert(&b);
        assert_eq!(first(&index, long), Some(1));
        assert_eq!(first(&index, "ivan.p@mail.ru"), Some(2));
        let hits: Vec<u128> = index
            .search("ivan.p", 10)
            .iter()
            .map(|h| h.id.as_u128())
            .collect();
        assert!(hits.contains(&1) && hits.contains(&2), "{hits:?}");
        a.email = None;
        index.upsert(&a);
        assert!(index.search(long, 10).iter().all(|h| h.id.as_u128() != 1));
        assert_eq!(first(&index, "ivan.p@mail.ru"), Some(2));
    }

    #[test]
    fn index_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SearchIndex>();
        let index = fixture();
        std::thread::scope(|s| {
            let a = s.spawn(|| first(&index, "Чупшева"));
            let b = s.spawn(|| first(&index, "Ilya"));
            assert_eq!(a.join().unwrap(), Some(CHUPSHEVA));
            assert_eq!(b.join().unwrap(), Some(ZUBAREV));
        });
    }

    #[test]
    fn name_and_org_words_are_not_counted_twice() {
        let mut index = SearchIndex::new();
        let mut a = person(1, "Петров Пётр");
        a.organization = Some("Петров и партнёры".into());
        index.upsert(&a);
        let mut b = person(2, "Сидоров Пётр");
        b.organization = Some("Петров и партнёры".into());
        index.upsert(&b);
        let hits = index.search("Петров", 5);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].id.as_u128(), 1);
        assert_eq!(hits[0].score, 1.0);
        assert!((hits[1].score - ORG_WEIGHT).abs() < 1e-6);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn small_index() -> SearchIndex {
            let mut index = SearchIndex::new();
            for a in distractors(50).iter().chain(targets().iter()) {
                index.upsert(a);
            }
            index
        }

        proptest! {
            #[test]
            fn search_never_panics(query in any::<String>(), limit in 0usize..20) {
                let index = small_index();
                let hits = index.search(&query, limit);
                prop_assert!(hits.len() <= limit);
                prop_assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
            }

            #[test]
            fn cyrillic_like_queries_never_panic(query in "[а-яёА-ЯЁa-zA-Z0-9 '’@.+()-]{0,24}") {
                let index = small_index();
                let hits = index.search(&query, 10);
                prop_assert!(hits.len() <= 10);
                prop_assert!(hits.iter().all(|h| h.score >= MIN_SCORE));
            }

            #[test]
            fn keys_are_lower_ascii_words(text in any::<String>()) {
                let key = phonetic_key(&text);
                prop_assert!(key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
                prop_assert!(!key.starts_with(' ') && !key.ends_with(' ') && !key.contains("  "));
                let _ = transliterate(&text);
            }

            #[test]
            fn any_attendee_can_be_indexed_and_found(name in "\\PC{1,40}", org in proptest::option::of("\\PC{0,20}")) {
                let mut index = SearchIndex::new();
                let mut a = person(1, &name);
                a.organization = org;
                a.email = Some(name.clone());
                a.phone = Some(name.clone());
                a.ticket_codes = vec![name.clone()];
                index.upsert(&a);
                index.upsert(&a);
                prop_assert_eq!(index.len(), 1);
                let _ = index.search(&name, 5);
                index.remove(a.id);
                prop_assert!(index.is_empty());
                prop_assert!(index.search(&name, 5).is_empty());
            }
        }
    }
}
