//! Reading a meter's object list in the background, and the progress line shown meanwhile.

use crate::tui::app::{AppEvent, Ctx, Tab, TaskResult};
use ratatui::text::Line;

const SPINNER: [char; 8] = ['⠋', '⠙', '⠸', '⠴', '⠦', '⠇', '⠏', '⠹'];

/// A read in progress; the total size is unknown until the meter's last block, so no percentage.
#[derive(Debug)]
pub struct Progress {
    meter: String,
    bytes: usize,
    /// Advances on every progress report and tick, so a silent meter still shows life.
    turn: usize,
}

impl Progress {
    /// Starts reading `meter`'s object list; results arrive as `ObjectsProgress` and `Objects`.
    pub fn start(ctx: &Ctx, meter: String) -> Progress {
        let runner = ctx.runner.clone();
        let events = ctx.events.clone();
        let name = meter.clone();
        ctx.spawn(Tab::Objects, async move {
            let progress = move |bytes| {
                let _ = events.send(AppEvent::Task(
                    Tab::Objects,
                    TaskResult::ObjectsProgress(bytes),
                ));
            };
            let read = runner.read_objects(&name, progress).await;
            TaskResult::Objects(read.map_err(|e| crate::tui::TuiError::Runner(e.to_string())))
        });
        Progress {
            meter,
            bytes: 0,
            turn: 0,
        }
    }

    /// The meter being read.
    pub fn meter(&self) -> &str {
        &self.meter
    }

    /// Records `bytes` received so far.
    pub fn update(&mut self, bytes: usize) {
        self.bytes = bytes;
        self.tick();
    }

    /// Turns the spinner.
    pub fn tick(&mut self) {
        self.turn = self.turn.wrapping_add(1);
    }

    /// `⠙ reading the object list of m1… 1234 bytes`
    pub fn line(&self) -> Line<'static> {
        Line::from(format!(
            "{} reading the object list of {}… {} bytes",
            SPINNER[self.turn % SPINNER.len()],
            self.meter,
            self.bytes
        ))
    }
}
