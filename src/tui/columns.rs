//! Table columns that fit the terminal: each as wide as its widest cell, and when the table
//! is too wide the columns that matter least give way first — down to a least width, then
//! hidden — while values keep their full width. Names cut short lose their middle (`sim-…-12`),
//! so both ends stay readable; messages lose their end.

use ratatui::layout::Constraint;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Row;
use unicode_width::UnicodeWidthStr;

/// How a column gives way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Give {
    /// Never narrower than its content (values: their end may be a unit or a clock status).
    Never,
    /// Narrower down to `min`, in the order of `rank` (lower gives way first).
    Shrink { min: u16, rank: u8 },
    /// Hidden when the rest does not fit otherwise, in the order of `rank`.
    Hide { rank: u8 },
}

/// One column: its header, the width its cells want, and how it gives way.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header text.
    pub header: &'static str,
    /// The widest cell (header included).
    pub want: u16,
    /// How it gives way.
    pub give: Give,
}

impl Column {
    /// A column wanting the widest of `header` and `cells`, at most `cap`.
    pub fn new<'a>(
        header: &'static str,
        cells: impl Iterator<Item = &'a str>,
        cap: u16,
        give: Give,
    ) -> Column {
        let widest = cells.map(UnicodeWidthStr::width).max().unwrap_or(0);
        let want = widest.max(header.width()).min(usize::from(cap)) as u16;
        Column { header, want, give }
    }
}

/// The widths of `columns` in `width` terminal cells with `spacing` between columns; a hidden
/// column gets 0 (and its spacing is saved). Spare room goes to the last column.
pub fn fit(columns: &[Column], width: u16, spacing: u16) -> Vec<u16> {
    let mut w: Vec<u16> = columns.iter().map(|c| c.want).collect();
    let mut shown: Vec<bool> = vec![true; columns.len()];
    let total = |w: &[u16], shown: &[bool]| -> u32 {
        let n = shown.iter().filter(|s| **s).count() as u32;
        w.iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|(w, _)| u32::from(*w))
            .sum::<u32>()
            + n.saturating_sub(1) * u32::from(spacing)
    };
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| match columns[i].give {
        Give::Shrink { rank, .. } | Give::Hide { rank } => rank,
        Give::Never => u8::MAX,
    });
    // In rank order, each column gives way as far as needed: shrinks to its least width, or
    // is hidden.
    for &i in &order {
        let over = total(&w, &shown).saturating_sub(u32::from(width));
        if over == 0 {
            break;
        }
        match columns[i].give {
            Give::Shrink { min, .. } => {
                let give = u32::from(w[i].saturating_sub(min)).min(over) as u16;
                w[i] -= give;
            }
            Give::Hide { .. } => shown[i] = false,
            Give::Never => {}
        }
    }
    // Room a hidden column left is given back to the columns that shrank, the most useful
    // first; what remains goes to the last column.
    for &i in order.iter().rev() {
        let spare = u32::from(width).saturating_sub(total(&w, &shown));
        if spare == 0 {
            break;
        }
        if shown[i] {
            let back = u32::from(columns[i].want.saturating_sub(w[i])).min(spare) as u16;
            w[i] += back;
        }
    }
    let used = total(&w, &shown);
    if let Some(last) = (0..columns.len()).rev().find(|&i| shown[i]) {
        w[last] += (u32::from(width).saturating_sub(used)) as u16;
    }
    w.iter()
        .zip(&shown)
        .map(|(w, s)| if *s { *w } else { 0 })
        .collect()
}

/// The columns of a table fitted to a width: which are shown, and how wide each is.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// Every column's width (0 for a hidden one), by column index.
    pub widths: Vec<u16>,
    /// The indices of the columns shown, in order.
    pub shown: Vec<usize>,
}

impl Fitted {
    /// `columns` fitted inside a bordered block `outer` cells wide (ratatui's spacing of 1).
    pub fn new(columns: &[Column], outer: u16) -> Fitted {
        let widths = fit(columns, outer.saturating_sub(2), 1);
        let shown = (0..columns.len()).filter(|&i| widths[i] > 0).collect();
        Fitted { widths, shown }
    }

    /// The bold header row of the shown columns.
    pub fn header(&self, columns: &[Column]) -> Row<'static> {
        Row::new(self.shown.iter().map(|&i| columns[i].header))
            .style(Style::default().add_modifier(Modifier::BOLD))
    }

    /// The shown columns' widths, for `Table::new`.
    pub fn constraints(&self) -> Vec<Constraint> {
        self.shown
            .iter()
            .map(|&i| Constraint::Length(self.widths[i]))
            .collect()
    }
}

/// `text` in at most `width` cells, its middle replaced by `…` when it is longer.
pub fn elide_middle(text: &str, width: u16) -> String {
    let width = usize::from(width);
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let keep = width - 1;
    let (head, tail) = (keep.div_ceil(2), keep / 2);
    let chars: Vec<char> = text.chars().collect();
    let mut start = String::new();
    for c in &chars {
        if (start.clone() + &c.to_string()).width() > head {
            break;
        }
        start.push(*c);
    }
    let mut end: Vec<char> = Vec::new();
    for c in chars.iter().rev() {
        let candidate: String = std::iter::once(*c)
            .chain(end.iter().rev().copied())
            .collect();
        if candidate.width() > tail {
            break;
        }
        end.push(*c);
    }
    end.reverse();
    format!("{start}…{}", end.into_iter().collect::<String>())
}

/// `text` in at most `width` cells, its end replaced by `…` when it is longer.
pub fn elide_end(text: &str, width: u16) -> String {
    let width = usize::from(width);
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    for c in text.chars() {
        if (out.clone() + &c.to_string()).width() + 1 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(header: &'static str, want: u16, give: Give) -> Column {
        Column { header, want, give }
    }

    #[test]
    fn columns_shrink_by_rank_then_hide_and_values_keep_their_width() {
        let cols = [
            col("time", 19, Give::Shrink { min: 8, rank: 5 }),
            col("meter", 12, Give::Shrink { min: 6, rank: 1 }),
            col("obis", 15, Give::Hide { rank: 2 }),
            col("value", 28, Give::Never),
        ];
        // Everything fits: the last column takes the spare room.
        assert_eq!(fit(&cols, 100, 1), [19, 12, 15, 51]);
        // 77 wanted in 72: the meter gives 5.
        assert_eq!(fit(&cols, 72, 1), [19, 7, 15, 28]);
        // 70: the meter gives all it can, then the OBIS column goes (before the time shrinks),
        // and the meter gets its room back.
        assert_eq!(fit(&cols, 70, 1), [19, 12, 0, 37]);
        // 50: then the time shrinks too.
        assert_eq!(fit(&cols, 50, 1), [14, 6, 0, 28]);
        // Far too narrow: the value still keeps its width (the table cuts what is left).
        assert_eq!(fit(&cols, 30, 1)[3], 28);
    }

    #[test]
    fn names_lose_their_middle_and_messages_their_end() {
        assert_eq!(elide_middle("sim-meter-0001", 9), "sim-…0001");
        assert_eq!(elide_middle("short", 9), "short");
        assert_eq!(elide_middle("abc", 1), "…");
        assert_eq!(elide_middle("abc", 0), "");
        assert_eq!(elide_end("timed out after 5000 ms", 10), "timed out…");
        assert!(elide_middle("日本語のメーター", 7).width() <= 7);
    }
}
