//! The Raspberry Pi: LED and button on the GPIO character device
//! (`linux-embedded-hal`), the SoC's watchdog at `/dev/watchdog`, the
//! temperature at `/sys/class/thermal/thermal_zone0/temp` and the
//! under-voltage alarm of the `rpi_volt` hwmon device.
//!
//! Default wiring (Pi 3 and 4, 40-pin header; see `board/README.md`):
//!
//! | Part   | GPIO (BCM) | Header pin | Other end |
//! |--------|------------|------------|-----------|
//! | LED    | 17         | 11         | 330 Ω resistor, then the LED, to GND (pin 9) |
//! | Button | 27         | 13         | push button to 3V3 (pin 1); GPIO 27's pull-down keeps it low when released |

use std::io::Write;
use std::path::{Path, PathBuf};

use embassy_time::Duration;
use linux_embedded_hal::CdevPin;
use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};

use crate::thermal::SysfsSensors;
use crate::{BoardError, Watchdog};

/// Where the Pi's parts are.
#[derive(Debug, Clone)]
pub struct PiConfig {
    /// The GPIO character device (`/dev/gpiochip0`).
    pub chip: PathBuf,
    /// The LED's line (BCM number).
    pub led_line: u32,
    /// The button's line (BCM number).
    pub button_line: u32,
    /// The watchdog device; none: no watchdog.
    pub watchdog: Option<PathBuf>,
    /// The watchdog's timeout when sysfs does not say (the Pi's is 15 s).
    pub watchdog_timeout: Duration,
    /// The temperature file; none: no temperature.
    pub temperature: Option<PathBuf>,
    /// Where hwmon devices are listed (`/sys/class/hwmon`).
    pub hwmon_root: PathBuf,
}

/// The opened board.
pub struct PiBoard {
    /// The LED's line, as an output.
    pub led: CdevPin,
    /// The button's line, as an input.
    pub button: CdevPin,
    /// The watchdog, when configured.
    pub watchdog: Option<DevWatchdog>,
    /// Temperature and under-voltage.
    pub sensors: SysfsSensors,
}

const CONSUMER: &str = "warren";

/// The machine's model as its device tree names it (`Raspberry Pi 3 Model
/// B Rev 1.2`), if it has one.
pub fn model() -> Option<String> {
    [
        "/proc/device-tree/model",
        "/sys/firmware/devicetree/base/model",
    ]
    .iter()
    .filter_map(|p| std::fs::read(p).ok())
    .map(|m| {
        String::from_utf8_lossy(&m)
            .trim_end_matches('\0')
            .trim()
            .to_string()
    })
    .find(|m| !m.is_empty())
}

/// Whether this machine is a Raspberry Pi (its device tree says so).
pub fn is_raspberry_pi() -> bool {
    model().is_some_and(|m| m.contains("Raspberry Pi"))
}

fn gpio(what: String) -> impl FnOnce(linux_embedded_hal::gpio_cdev::Error) -> BoardError {
    move |e| BoardError::Gpio {
        what,
        detail: e.to_string(),
    }
}

/// Opens one line of `chip` as an output (low) or an input.
pub fn open_line(chip: &Path, line: u32, output: bool) -> Result<CdevPin, BoardError> {
    let name = format!("{} line {line}", chip.display());
    let mut c = Chip::new(chip).map_err(gpio(name.clone()))?;
    let l = c.get_line(line).map_err(gpio(name.clone()))?;
    let flags = if output {
        LineRequestFlags::OUTPUT
    } else {
        LineRequestFlags::INPUT
    };
    let handle = l.request(flags, 0, CONSUMER).map_err(gpio(name.clone()))?;
    CdevPin::new(handle).map_err(gpio(name))
}

impl PiBoard {
    /// Opens every part. The watchdog is armed from here on.
    pub fn open(cfg: &PiConfig) -> Result<PiBoard, BoardError> {
        let led = open_line(&cfg.chip, cfg.led_line, true)?;
        let button = open_line(&cfg.chip, cfg.button_line, false)?;
        let watchdog = match &cfg.watchdog {
            Some(p) => Some(DevWatchdog::open(p, cfg.watchdog_timeout)?),
            None => None,
        };
        Ok(PiBoard {
            led,
            button,
            watchdog,
            sensors: SysfsSensors {
                temperature: cfg.temperature.clone().filter(|p| p.exists()),
                under_voltage: SysfsSensors::find_under_voltage(&cfg.hwmon_root),
            },
        })
    }
}

/// A Linux watchdog device (`/dev/watchdog`): any write pets it; writing
/// `V` before closing stops it (unless the kernel was built with
/// `nowayout`).
pub struct DevWatchdog {
    file: std::fs::File,
    path: PathBuf,
    timeout: Duration,
}

impl DevWatchdog {
    /// Opens (and so arms) the device. The timeout is read from
    /// `/sys/class/watchdog/watchdogN/timeout` when there, else `fallback`.
    pub fn open(path: &Path, fallback: Duration) -> Result<DevWatchdog, BoardError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(BoardError::io(path.display()))?;
        let timeout = sysfs_timeout(path).unwrap_or(fallback);
        Ok(DevWatchdog {
            file,
            path: path.to_path_buf(),
            timeout,
        })
    }
}

/// The device's timeout from sysfs (`/dev/watchdog` is `watchdog0`).
fn sysfs_timeout(dev: &Path) -> Option<Duration> {
    let name = match dev.file_name()?.to_str()? {
        "watchdog" => "watchdog0".to_string(),
        n => n.to_string(),
    };
    let text = std::fs::read_to_string(Path::new("/sys/class/watchdog").join(name).join("timeout"))
        .ok()?;
    let secs: u64 = text.trim().parse().ok()?;
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl Watchdog for DevWatchdog {
    fn pet(&mut self) -> Result<(), BoardError> {
        self.file
            .write_all(b"\n")
            .and_then(|()| self.file.flush())
            .map_err(BoardError::io(self.path.display()))
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn disarm(&mut self) -> Result<(), BoardError> {
        self.file
            .write_all(b"V")
            .and_then(|()| self.file.flush())
            .map_err(BoardError::io(self.path.display()))
    }
}
