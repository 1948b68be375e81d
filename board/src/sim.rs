//! A simulated board: the real timing logic on [`MockPin`]s, a watchdog that
//! counts pets, and sensors whose readings are set from outside.
//!
//! The node uses it on any machine without GPIO; [`SimControl`] is the other
//! end of every wire, so tests (and `warren board press`) press the button,
//! heat the board and watch the LED.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use embassy_time::Duration;

use crate::mock::MockPin;
use crate::{BoardError, Reading, Sensors, Watchdog};

/// Temperature a simulated board starts at, °C.
pub const ROOM_TEMPERATURE: f32 = 45.0;

/// The simulated board's parts, for the node to drive.
pub struct SimBoard {
    /// The LED's pin (high: lit).
    pub led: MockPin,
    /// The button's pin (high: pressed).
    pub button: MockPin,
    /// A watchdog that counts pets.
    pub watchdog: SimWatchdog,
    /// Sensors set from outside.
    pub sensors: SimSensors,
}

/// The outside of a [`SimBoard`].
#[derive(Clone)]
pub struct SimControl {
    led: MockPin,
    button: MockPin,
    reading: Arc<Mutex<Reading>>,
    pets: Arc<AtomicU64>,
    armed: Arc<AtomicBool>,
}

impl SimBoard {
    /// A board whose watchdog times out after `watchdog_timeout`.
    pub fn new(watchdog_timeout: Duration) -> (SimBoard, SimControl) {
        let led = MockPin::new(false);
        let button = MockPin::new(false);
        let reading = Arc::new(Mutex::new(Reading {
            temperature_c: Some(ROOM_TEMPERATURE),
            under_voltage: Some(false),
        }));
        let pets = Arc::new(AtomicU64::new(0));
        let armed = Arc::new(AtomicBool::new(true));
        let board = SimBoard {
            led: led.clone(),
            button: button.clone(),
            watchdog: SimWatchdog {
                timeout: watchdog_timeout,
                pets: pets.clone(),
                armed: armed.clone(),
            },
            sensors: SimSensors {
                reading: reading.clone(),
            },
        };
        let control = SimControl {
            led,
            button,
            reading,
            pets,
            armed,
        };
        (board, control)
    }
}

impl SimControl {
    /// Puts a finger on the button, or takes it off.
    pub fn set_pressed(&self, pressed: bool) {
        self.button.set_level(pressed);
    }

    /// Whether the LED is lit.
    pub fn led_lit(&self) -> bool {
        self.led.is_set_high()
    }

    /// How many times the LED changed.
    pub fn led_edges(&self) -> u64 {
        self.led.edges()
    }

    /// Sets the SoC temperature.
    pub fn set_temperature(&self, celsius: f32) {
        if let Ok(mut r) = self.reading.lock() {
            r.temperature_c = Some(celsius);
        }
    }

    /// Sets the under-voltage alarm.
    pub fn set_under_voltage(&self, low: bool) {
        if let Ok(mut r) = self.reading.lock() {
            r.under_voltage = Some(low);
        }
    }

    /// How many times the watchdog was petted.
    pub fn pets(&self) -> u64 {
        self.pets.load(Ordering::SeqCst)
    }

    /// Whether the watchdog is still armed (not disarmed by a clean exit).
    pub fn watchdog_armed(&self) -> bool {
        self.armed.load(Ordering::SeqCst)
    }
}

/// A watchdog that counts pets.
pub struct SimWatchdog {
    timeout: Duration,
    pets: Arc<AtomicU64>,
    armed: Arc<AtomicBool>,
}

impl Watchdog for SimWatchdog {
    fn pet(&mut self) -> Result<(), BoardError> {
        self.pets.fetch_add(1, Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn disarm(&mut self) -> Result<(), BoardError> {
        self.armed.store(false, Ordering::SeqCst);
        Ok(())
    }
}

/// Sensors whose readings are set through [`SimControl`].
pub struct SimSensors {
    reading: Arc<Mutex<Reading>>,
}

impl Sensors for SimSensors {
    fn read(&mut self) -> Result<Reading, BoardError> {
        self.reading
            .lock()
            .map(|r| *r)
            .map_err(|_| BoardError::Parse {
                path: "simulated sensors".into(),
                contents: "poisoned".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Blinker, ButtonConfig, ButtonDetector, ButtonEvent, Instant, Pattern};

    #[test]
    fn the_control_drives_and_observes_the_board() {
        let (board, ctl) = SimBoard::new(Duration::from_secs(15));
        let mut blinker = Blinker::new(board.led, false, Instant::from_millis(0)).unwrap();
        blinker
            .set(Pattern::Starting, Instant::from_millis(0))
            .unwrap();
        assert!(ctl.led_lit());
        let mut button = ButtonDetector::new(board.button, ButtonConfig::default());
        ctl.set_pressed(true);
        button.sample(Instant::from_millis(0)).unwrap();
        assert_eq!(
            button.sample(Instant::from_millis(40)).unwrap(),
            Some(ButtonEvent::Down)
        );
        let mut sensors = board.sensors;
        ctl.set_temperature(83.5);
        ctl.set_under_voltage(true);
        let r = sensors.read().unwrap();
        assert_eq!(r.temperature_c, Some(83.5));
        assert_eq!(r.under_voltage, Some(true));
        let mut wd = board.watchdog;
        wd.pet().unwrap();
        wd.pet().unwrap();
        assert_eq!(ctl.pets(), 2);
        wd.disarm().unwrap();
        assert!(!ctl.watchdog_armed());
    }
}
