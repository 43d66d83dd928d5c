//! Adding a request built from a preset to the running queue.

use crate::dlms::obis::Obis;
use crate::queue::{request_from_preset, Config, Preset};
use crate::schedule::Schedule;
use crate::tui::app::Ctx;
use crate::tui::views::form::{InputField, InputForm};
use crate::tui::TuiError;

/// The dialog asking for the request's name and schedule.
pub fn form(config: &Config, meter: &str) -> InputForm {
    let base = format!("{meter} objects");
    let name = (1..)
        .map(|n| match n {
            1 => base.clone(),
            n => format!("{base} ({n})"),
        })
        .find(|name| config.request(name).is_none())
        .unwrap_or(base);
    InputForm::new(
        format!("new request for {meter}"),
        vec![
            InputField::text("name", &name),
            InputField::text("schedule", "every 15min"),
        ],
    )
}

/// Appends the request described by `form` to the queue, saves it and runs it; returns what was done.
pub fn add(
    ctx: &Ctx,
    form: &InputForm,
    preset: &Preset,
    meter: &str,
    select: &[Obis],
) -> Result<String, TuiError> {
    let name = form.value("name");
    if name.is_empty() {
        return Err(TuiError::input("type a name for the request"));
    }
    let schedule: Schedule = form
        .value("schedule")
        .parse()
        .map_err(|e| TuiError::input(format!("schedule: {e}")))?;
    let request = request_from_preset(preset, &name, vec![meter.to_string()], schedule, select);
    let items = request.items.len();
    let mut config = (*ctx.config()).clone();
    config.requests.push(request);
    config.validate()?;
    config.save(&ctx.config_path)?;
    ctx.reload(config);
    Ok(format!(
        "added request {name:?} ({items} items of {meter}) and saved {}",
        ctx.config_path.display()
    ))
}
