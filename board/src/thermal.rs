//! Temperature and power: the [`Sensors`] trait, sysfs sensors, and the
//! [`Governor`] that decides when the box is too hot.
//!
//! The governor has hysteresis: the box becomes hot at `hot_c` and cool
//! again only at `cool_c` (lower), so a temperature hovering at the limit
//! does not switch throttling on and off every reading.

use std::path::{Path, PathBuf};

use crate::BoardError;

/// One reading of the board's sensors.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    /// SoC temperature, °C (none: the board has no sensor).
    pub temperature_c: Option<f32>,
    /// Whether the supply voltage is too low now (none: the board does not
    /// report it).
    pub under_voltage: Option<bool>,
}

/// The board's sensors.
pub trait Sensors {
    /// Reads them.
    fn read(&mut self) -> Result<Reading, BoardError>;
}

/// Decides hot or not from temperatures, with hysteresis.
#[derive(Debug, Clone)]
pub struct Governor {
    hot_c: f32,
    cool_c: f32,
    hot: bool,
}

impl Governor {
    /// Hot from `hot_c` up; cool again at `cool_c` or below (`cool_c` is
    /// clamped to at most `hot_c`).
    pub fn new(hot_c: f32, cool_c: f32) -> Governor {
        Governor {
            hot_c,
            cool_c: cool_c.min(hot_c),
            hot: false,
        }
    }

    /// Whether the box counts as hot.
    pub fn hot(&self) -> bool {
        self.hot
    }

    /// Takes a reading; returns the new state when it changed.
    pub fn update(&mut self, temperature_c: f32) -> Option<bool> {
        let hot = if self.hot {
            temperature_c > self.cool_c
        } else {
            temperature_c >= self.hot_c
        };
        (hot != self.hot).then(|| {
            self.hot = hot;
            hot
        })
    }
}

/// Sensors read from sysfs: a thermal zone (millidegrees) and, where the
/// board reports it, an under-voltage alarm file (`0` or `1`).
#[derive(Debug, Clone)]
pub struct SysfsSensors {
    /// e.g. `/sys/class/thermal/thermal_zone0/temp`.
    pub temperature: Option<PathBuf>,
    /// e.g. `/sys/class/hwmon/hwmon1/in0_lcrit_alarm` (the Pi's `rpi_volt`).
    pub under_voltage: Option<PathBuf>,
}

impl SysfsSensors {
    /// The Raspberry Pi's under-voltage alarm: the `in0_lcrit_alarm` of the
    /// hwmon device named `rpi_volt` under `hwmon_root`
    /// (`/sys/class/hwmon`), if there is one.
    pub fn find_under_voltage(hwmon_root: &Path) -> Option<PathBuf> {
        let entries = std::fs::read_dir(hwmon_root).ok()?;
        entries.flatten().map(|e| e.path()).find_map(|dir| {
            let name = std::fs::read_to_string(dir.join("name")).ok()?;
            let alarm = dir.join("in0_lcrit_alarm");
            (name.trim() == "rpi_volt" && alarm.exists()).then_some(alarm)
        })
    }
}

fn read_number(path: &Path) -> Result<i64, BoardError> {
    let text = std::fs::read_to_string(path).map_err(BoardError::io(path.display()))?;
    text.trim().parse().map_err(|_| BoardError::Parse {
        path: path.display().to_string(),
        contents: text.chars().take(32).collect(),
    })
}

impl Sensors for SysfsSensors {
    fn read(&mut self) -> Result<Reading, BoardError> {
        let temperature_c = match &self.temperature {
            Some(p) => Some(read_number(p)? as f32 / 1000.0),
            None => None,
        };
        let under_voltage = match &self.under_voltage {
            Some(p) => Some(read_number(p)? != 0),
            None => None,
        };
        Ok(Reading {
            temperature_c,
            under_voltage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_at_the_limit_and_cool_only_below_the_lower_mark() {
        let mut g = Governor::new(80.0, 75.0);
        assert_eq!(g.update(79.9), None);
        assert_eq!(g.update(80.0), Some(true));
        assert_eq!(g.update(79.0), None, "still hot between the marks");
        assert_eq!(g.update(81.0), None);
        assert_eq!(g.update(75.0), Some(false));
        assert_eq!(g.update(79.0), None);
        assert!(!g.hot());
    }

    #[test]
    fn sysfs_sensors_read_millidegrees_and_the_alarm() {
        let dir = tempfile::tempdir().unwrap();
        let hwmon = dir.path().join("hwmon");
        for (n, name) in [("hwmon0", "cpu_thermal"), ("hwmon1", "rpi_volt")] {
            std::fs::create_dir_all(hwmon.join(n)).unwrap();
            std::fs::write(hwmon.join(n).join("name"), format!("{name}\n")).unwrap();
            std::fs::write(hwmon.join(n).join("in0_lcrit_alarm"), "1\n").unwrap();
        }
        let alarm = SysfsSensors::find_under_voltage(&hwmon).unwrap();
        assert!(alarm.starts_with(hwmon.join("hwmon1")));
        let temp = dir.path().join("temp");
        std::fs::write(&temp, "48312\n").unwrap();
        let mut s = SysfsSensors {
            temperature: Some(temp.clone()),
            under_voltage: Some(alarm),
        };
        let r = s.read().unwrap();
        assert!((r.temperature_c.unwrap() - 48.312).abs() < 1e-3);
        assert_eq!(r.under_voltage, Some(true));
        std::fs::write(&temp, "hot\n").unwrap();
        assert!(matches!(s.read(), Err(BoardError::Parse { .. })));
        std::fs::remove_file(&temp).unwrap();
        assert!(matches!(s.read(), Err(BoardError::Io { .. })));
        assert_eq!(
            SysfsSensors::find_under_voltage(&dir.path().join("none")),
            None
        );
    }
}
