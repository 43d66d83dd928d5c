//! Keyset paging through the log: the visible page, one page of look-ahead, and the way back.
//!
//! Only `2 × page size` rows are ever held, and every page is one index range in the store,
//! so a 10-million-row log pages as fast as an empty one. Going back pops the cursor the
//! previous page started after; the newest page starts after nothing and so shows new rows.

use crate::store::{Cursor, Row};

/// Where the operator is in the log.
#[derive(Debug)]
pub struct Pager {
    size: usize,
    /// The current page holds the rows strictly older than this (`None`: the newest rows).
    after: Option<Cursor>,
    /// Where each earlier page started, newest page first.
    back: Vec<Option<Cursor>>,
    /// This page, then up to one page of look-ahead.
    rows: Vec<Row>,
    selected: usize,
}

impl Default for Pager {
    fn default() -> Self {
        Pager {
            // Until the first draw tells the table's height.
            size: 20,
            after: None,
            back: Vec::new(),
            rows: Vec::new(),
            selected: 0,
        }
    }
}

impl Pager {
    /// What to ask the store for to read the current page and its look-ahead again: the
    /// rows older than this cursor, this many.
    pub fn request(&self) -> (Option<Cursor>, usize) {
        (self.after, self.size * 2)
    }

    /// Takes the answer to [`Pager::request`] (asked in the current position).
    pub fn apply(&mut self, rows: Vec<Row>) {
        // Below the top row the selection sticks to its row as new rows push it down;
        // at the top it stays at the top, so the newest row is always in view.
        let keep = (self.selected > 0)
            .then(|| self.page().get(self.selected).map(|r| r.id))
            .flatten();
        self.rows = rows;
        if let Some(i) = keep.and_then(|id| self.page().iter().position(|r| r.id == id)) {
            self.selected = i;
        }
        self.selected = self.selected.min(self.page().len().saturating_sub(1));
    }

    /// Sets the rows per page; true when it changed (reload then).
    pub fn resize(&mut self, size: usize) -> bool {
        let size = size.max(1);
        let changed = size != self.size;
        self.size = size;
        changed
    }

    /// The rows on screen.
    pub fn page(&self) -> &[Row] {
        &self.rows[..self.rows.len().min(self.size)]
    }

    /// The selected row's index in [`Pager::page`].
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// 1 for the newest page.
    pub fn number(&self) -> usize {
        self.back.len() + 1
    }

    /// True when older rows follow this page.
    pub fn has_next(&self) -> bool {
        self.rows.len() > self.size
    }

    /// Back to the newest rows; reload then.
    pub fn home(&mut self) {
        self.back.clear();
        self.after = None;
        self.rows.clear();
        self.selected = 0;
    }

    /// Moves to the older page, shown at once from the look-ahead; true when it moved (reload then).
    pub fn next_page(&mut self) -> bool {
        if !self.has_next() {
            return false;
        }
        self.back.push(self.after);
        self.after = Some(self.rows[self.size - 1].cursor());
        self.rows.drain(..self.size);
        self.selected = 0;
        true
    }

    /// Shows `row` (found by a search, older or newer): selected where it is when it is on
    /// this page; otherwise a page starting at it, and PgUp comes back here. True when a
    /// reload is due.
    pub fn jump_to(&mut self, row: &Row) -> bool {
        if let Some(i) = self.page().iter().position(|r| r.id == row.id) {
            self.selected = i;
            return false;
        }
        self.back.push(self.after);
        // Strictly older than this is the row itself and what follows it.
        self.after = Some(Cursor {
            ts_ms: row.record.ts_ms,
            id: row.id.saturating_add(1),
        });
        self.rows.clear();
        self.selected = 0;
        true
    }

    /// Moves to the newer page; true when it moved (reload then).
    pub fn prev_page(&mut self) -> bool {
        let Some(after) = self.back.pop() else {
            return false;
        };
        self.after = after;
        self.rows.clear();
        self.selected = 0;
        true
    }

    /// Selects the next older row, turning the page at its end; true when a reload is due.
    pub fn down(&mut self) -> bool {
        if self.selected + 1 < self.page().len() {
            self.selected += 1;
            false
        } else {
            self.next_page()
        }
    }

    /// Selects the next newer row, turning the page at its top; true when a reload is due.
    pub fn up(&mut self) -> bool {
        if self.selected > 0 {
            self.selected -= 1;
            false
        } else if self.prev_page() {
            // Earlier pages are full; `load` clamps this if rows were deleted meanwhile.
            self.selected = self.size - 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Scan;
    use crate::store::{LogFilter, Store};
    use crate::tui::views::testkit::reading;

    /// What the Log view does, answered at once.
    trait Load {
        fn load(&mut self, store: &Store, filter: &LogFilter) -> Result<(), ()>;
    }

    impl Load for Pager {
        fn load(&mut self, store: &Store, filter: &LogFilter) -> Result<(), ()> {
            let (after, limit) = self.request();
            self.apply(store.log_page(filter, after, limit).unwrap());
            Ok(())
        }
    }

    fn store(n: i64) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let rows: Vec<_> = (0..n).map(|i| reading("m1", "e", i, i as f64)).collect();
        store.insert_batch(&rows).unwrap();
        store
    }

    fn values(p: &Pager) -> Vec<i64> {
        p.page().iter().map(|r| r.record.ts_ms).collect()
    }

    #[test]
    fn pages_through_with_bounded_memory_and_comes_back() {
        let store = store(10);
        let filter = LogFilter::default();
        let mut p = Pager::default();
        p.resize(4);
        p.load(&store, &filter).unwrap();
        assert_eq!((values(&p), p.has_next()), (vec![9, 8, 7, 6], true));
        assert!(p.next_page());
        assert_eq!(values(&p), vec![5, 4, 3, 2]);
        p.load(&store, &filter).unwrap();
        assert!(p.rows.len() <= 8);
        assert!(p.next_page());
        p.load(&store, &filter).unwrap();
        assert_eq!(
            (values(&p), p.has_next(), p.number()),
            (vec![1, 0], false, 3)
        );
        assert!(!p.next_page());
        // Up at the top of a page lands on the last row of the newer page.
        assert!(p.up());
        p.load(&store, &filter).unwrap();
        assert_eq!((values(&p), p.selected()), (vec![5, 4, 3, 2], 3));
        assert!(p.prev_page());
        p.load(&store, &filter).unwrap();
        assert_eq!((values(&p), p.number()), (vec![9, 8, 7, 6], 1));
        assert!(!p.prev_page() && !p.up());
    }

    #[test]
    fn new_rows_appear_on_the_first_page_and_a_selected_row_stays_selected() {
        let mut store = store(5);
        let filter = LogFilter::default();
        let mut p = Pager::default();
        p.resize(3);
        p.load(&store, &filter).unwrap();
        assert!(!p.down());
        store.insert_batch(&[reading("m1", "e", 10, 0.0)]).unwrap();
        p.load(&store, &filter).unwrap();
        assert_eq!((values(&p), p.selected()), (vec![10, 4, 3], 2));
    }

    #[test]
    fn an_empty_log_has_one_empty_page() {
        let store = store(0);
        let mut p = Pager::default();
        p.resize(0);
        p.load(&store, &LogFilter::default()).unwrap();
        assert!(p.page().is_empty() && !p.down() && !p.up() && !p.next_page());
    }
}
