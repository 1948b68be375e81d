//! The test wiring on a Raspberry Pi 3/4 (BCM numbers, 40-pin header):
//!
//! | Line   | Header pin | Wire to |
//! |--------|------------|---------|
//! | 17 LED | 11         | the LED (as in `board/README.md`) and to line 23 |
//! | 23     | 16         | LED loopback input |
//! | 27     | 13         | the button (as in `board/README.md`) and, through 1 kΩ, to line 22 |
//! | 22     | 15         | button driver output |

use std::path::PathBuf;

use warren_board::pi::{self as board_pi, DevWatchdog};
use warren_board::thermal::SysfsSensors;
use warren_board::{BoardError, Duration};

/// Where the parts are on the test wiring.
#[derive(Debug, Clone)]
pub struct Wiring {
    /// `/dev/gpiochip0`.
    pub chip: PathBuf,
    /// The LED's line.
    pub led: u32,
    /// The LED loopback input.
    pub led_loopback: u32,
    /// The button's line.
    pub button: u32,
    /// The output that drives the button's line.
    pub button_driver: u32,
}

impl Wiring {
    /// The wiring, when this is a Pi and `WARREN_HW_TESTS=1` says it is
    /// wired; else why not.
    pub fn find() -> Result<Wiring, String> {
        if !board_pi::is_raspberry_pi() {
            return Err(
                "not a Raspberry Pi (no \"Raspberry Pi\" in the device tree's model)".into(),
            );
        }
        let chip = PathBuf::from("/dev/gpiochip0");
        if !chip.exists() {
            return Err("no /dev/gpiochip0".into());
        }
        if std::env::var("WARREN_HW_TESTS").as_deref() != Ok("1") {
            return Err(
                "WARREN_HW_TESTS=1 is not set (set it once the test wiring is in place)".into(),
            );
        }
        Ok(Wiring {
            chip,
            led: 17,
            led_loopback: 23,
            button: 27,
            button_driver: 22,
        })
    }

    /// Opens a line as an output or an input.
    pub fn line(&self, line: u32, output: bool) -> Result<linux_embedded_hal::CdevPin, String> {
        board_pi::open_line(&self.chip, line, output).map_err(|e| e.to_string())
    }

    /// The SoC's watchdog (stop `warren` first: the device has one user).
    pub fn watchdog(&self) -> Result<DevWatchdog, String> {
        DevWatchdog::open(
            std::path::Path::new("/dev/watchdog"),
            Duration::from_secs(15),
        )
        .map_err(|e: BoardError| format!("{e} (is warren running? it holds the watchdog)"))
    }

    /// The SoC's sensors.
    pub fn sensors(&self) -> SysfsSensors {
        SysfsSensors {
            temperature: Some(PathBuf::from("/sys/class/thermal/thermal_zone0/temp")),
            under_voltage: SysfsSensors::find_under_voltage(std::path::Path::new(
                "/sys/class/hwmon",
            )),
        }
    }
}
