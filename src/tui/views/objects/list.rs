//! The object list being browsed: a preset, the text filter, the marked objects, the selected row.

use crate::dlms::obis::Obis;
use crate::dlms::obis_names::class_name;
use crate::queue::{Preset, PresetObject};
use crate::tui::columns::{elide_middle, Column, Fitted, Give};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Row, Table, TableState};
use ratatui::Frame;
use std::collections::HashSet;

/// A preset with a filter and marks over it.
#[derive(Debug, Default)]
pub struct ObjectList {
    preset: Option<Preset>,
    /// Marked objects; kept across filter changes.
    marks: HashSet<Obis>,
    /// Lower-case filter text.
    filter: String,
    /// Indices into the preset's objects that match the filter, in the meter's order.
    visible: Vec<usize>,
    table: TableState,
}

impl ObjectList {
    /// Shows `preset`, with no marks and no filter.
    pub fn set(&mut self, preset: Preset) {
        self.preset = Some(preset);
        self.marks.clear();
        self.set_filter("");
    }

    /// The whole list, if one was read or loaded.
    pub fn preset(&self) -> Option<&Preset> {
        self.preset.as_ref()
    }

    /// The filter as typed (lower case).
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Shows only objects whose OBIS code or name contains `text`, ignoring case.
    pub fn set_filter(&mut self, text: &str) {
        self.filter = text.to_lowercase();
        let objects = self.preset.as_ref().map_or(&[][..], |p| &p.objects);
        self.visible = (0..objects.len())
            .filter(|&i| matches(&objects[i], &self.filter))
            .collect();
        self.table.select((!self.visible.is_empty()).then_some(0));
    }

    /// Moves the selection by `delta` rows, clamped to the list.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.visible.len().saturating_sub(1);
        let at = self
            .table
            .selected()
            .unwrap_or(0)
            .saturating_add_signed(delta);
        self.table
            .select((!self.visible.is_empty()).then_some(at.min(last)));
    }

    /// Marks or unmarks the selected object, then selects the next one.
    pub fn toggle(&mut self) {
        if let Some(obis) = self.selected_object().map(|o| o.obis) {
            if !self.marks.remove(&obis) {
                self.marks.insert(obis);
            }
            self.move_by(1);
        }
    }

    /// Marks every visible object, or unmarks them all when they all are marked.
    pub fn mark_visible(&mut self) {
        let visible: Vec<Obis> = self.visible_objects().map(|o| o.obis).collect();
        if visible.iter().all(|o| self.marks.contains(o)) {
            for o in &visible {
                self.marks.remove(o);
            }
        } else {
            self.marks.extend(visible);
        }
    }

    /// The marked objects' OBIS codes in the list's order (empty: nothing marked).
    pub fn selection(&self) -> Vec<Obis> {
        self.preset
            .iter()
            .flat_map(|p| &p.objects)
            .filter(|o| self.marks.contains(&o.obis))
            .map(|o| o.obis)
            .collect()
    }

    /// The preset of the marked objects, or of all objects when none is marked.
    pub fn chosen(&self) -> Option<Preset> {
        let preset = self.preset.as_ref()?;
        let objects = preset
            .objects
            .iter()
            .filter(|o| self.marks.is_empty() || self.marks.contains(&o.obis))
            .cloned()
            .collect();
        Some(Preset {
            source: preset.source.clone(),
            objects,
        })
    }

    /// Rows matching the filter, and rows marked.
    pub fn counts(&self) -> (usize, usize) {
        (self.visible.len(), self.marks.len())
    }

    fn visible_objects(&self) -> impl Iterator<Item = &PresetObject> {
        let objects = self.preset.as_ref().map_or(&[][..], |p| &p.objects);
        self.visible.iter().filter_map(|&i| objects.get(i))
    }

    /// The object under the cursor.
    pub fn selected_object(&self) -> Option<&PresetObject> {
        let i = *self.visible.get(self.table.selected()?)?;
        self.preset.as_ref()?.objects.get(i)
    }

    /// Draws the table inside `block`; returns the rows per page.
    pub fn render(&mut self, f: &mut Frame, area: Rect, block: Block) -> usize {
        let marked = Style::default().fg(Color::Yellow);
        let cells: Vec<([String; 6], bool)> = self
            .visible_objects()
            .map(|o| {
                let mark = self.marks.contains(&o.obis);
                (
                    [
                        if mark { "✓" } else { " " }.to_string(),
                        o.obis.to_string(),
                        format!("{} {}", o.class, class_name(o.class)),
                        o.version.to_string(),
                        o.name.clone(),
                        o.unit.clone().unwrap_or_default(),
                    ],
                    mark,
                )
            })
            .collect();
        let col = |i: usize| cells.iter().map(move |(c, _)| c[i].as_str());
        let columns = [
            Column::new("", col(0), 1, Give::Never),
            Column::new("OBIS", col(1), 16, Give::Never),
            Column::new("class", col(2), 24, Give::Shrink { min: 3, rank: 1 }),
            Column::new("ver", col(3), 3, Give::Hide { rank: 0 }),
            Column::new("name", col(4), 48, Give::Shrink { min: 12, rank: 2 }),
            Column::new("unit", col(5), 8, Give::Never),
        ];
        let fitted = Fitted::new(&columns, area.width);
        let header = fitted.header(&columns);
        let (widths, shown) = (&fitted.widths, &fitted.shown);
        let rows: Vec<Row> = cells
            .into_iter()
            .map(|(c, mark)| {
                let row = Row::new(shown.iter().map(|&i| match i {
                    2 | 4 => elide_middle(&c[i], widths[i]),
                    _ => c[i].clone(),
                }));
                if mark {
                    row.style(marked)
                } else {
                    row
                }
            })
            .collect();
        let table = Table::new(rows, fitted.constraints())
            .header(header)
            .block(block)
            .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
        f.render_stateful_widget(table, area, &mut self.table);
        usize::from(area.height.saturating_sub(3)).max(1)
    }
}

fn matches(o: &PresetObject, filter: &str) -> bool {
    filter.is_empty()
        || o.obis.to_string().contains(filter)
        || o.name.to_lowercase().contains(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> ObjectList {
        let object = |obis: Obis, name: &str| PresetObject {
            obis,
            class: 3,
            version: 0,
            name: name.into(),
            unit: None,
            scaler: None,
            access: None,
        };
        let mut list = ObjectList::default();
        list.set(Preset {
            source: "test".into(),
            objects: vec![
                object(Obis::new(0, 0, 1, 0, 0, 255), "Clock"),
                object(Obis::new(1, 0, 1, 8, 0, 255), "Active energy import (+A)"),
                object(Obis::new(1, 0, 2, 8, 0, 255), "Active energy export (-A)"),
            ],
        });
        list
    }

    #[test]
    fn filters_by_obis_or_name_and_keeps_marks() {
        let mut l = list();
        l.set_filter("ENERGY");
        assert_eq!(l.counts(), (2, 0));
        l.set_filter("1.0.2.8");
        assert_eq!(l.counts(), (1, 0));
        l.toggle();
        l.set_filter("");
        assert_eq!(l.selection(), [Obis::new(1, 0, 2, 8, 0, 255)]);
        assert_eq!(l.chosen().unwrap().objects.len(), 1);
        l.set_filter("nothing");
        l.toggle();
        l.move_by(5);
        assert_eq!(l.counts(), (0, 1));
    }

    #[test]
    fn star_marks_all_visible_then_unmarks_them() {
        let mut l = list();
        l.set_filter("energy");
        l.mark_visible();
        assert_eq!(l.counts(), (2, 2));
        l.set_filter("");
        l.mark_visible();
        assert_eq!(l.counts().1, 3);
        l.mark_visible();
        assert_eq!(l.counts().1, 0);
        assert_eq!(
            l.chosen().unwrap().objects.len(),
            3,
            "nothing marked: everything"
        );
    }
}
