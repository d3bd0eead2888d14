//! Modbus/TCP digital-input driver: the I/O module a communication-detector gate's alarm relay
//! is wired to (devices.md, "Communication-detector gates").
//!
//! The protocol work is tokio-modbus's; this driver decides what each failure means for the
//! operator. A Modbus exception is the module refusing a request it understood, so it is a
//! configuration problem (`FailedPrecondition`) and the message names the setting to fix; a
//! module that does not answer, drops the connection or answers with something that is not the
//! Modbus/TCP reply to our request is `Unavailable`, and the next request reconnects by itself.
//! The gate is polled every 50 ms or so; a poll that hung or panicked would blind the desk to
//! phones at the gate, so every wait is bounded and no received byte can panic the driver.

mod link;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio_modbus::{ExceptionCode, Request, Response};

use self::link::{Failure, Link};
use super::DigitalInputs;
use crate::error::{Error, ErrorKind, Result};

/// The Modbus limit for one Read Discrete Inputs request (the answer must fit one PDU).
pub const MAX_READ_INPUTS: u16 = 2000;
/// What a module on the venue LAN needs, with room for a busy gateway; long enough not to fail
/// polls on a loaded network, short enough that a dead module is reported within a second.
pub const DEFAULT_TIMEOUT_MS: u64 = 500;

/// How to reach one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModbusSettings {
    /// `host:port`, usually port 502.
    pub address: String,
    /// The unit (slave) id: what a Modbus/TCP–RTU gateway routes on; plain TCP modules usually
    /// ignore it or expect 1 or 255.
    pub unit_id: u8,
    /// Bound on connecting, and separately on each request's answer, in milliseconds.
    pub timeout_ms: u64,
}

impl ModbusSettings {
    pub fn new(address: impl Into<String>, unit_id: u8) -> Self {
        ModbusSettings { address: address.into(), unit_id, timeout_ms: DEFAULT_TIMEOUT_MS }
    }
}

/// What a request was for, to word errors.
#[derive(Debug, Clone, Copy)]
enum Op {
    ReadInputs { address: u16, count: u16 },
    WriteCoil { address: u16, on: bool },
}

impl Op {
    fn function(self) -> u8 {
        match self {
            Op::ReadInputs { .. } => 0x02,
            Op::WriteCoil { .. } => 0x05,
        }
    }

    fn request(self) -> Request<'static> {
        match self {
            Op::ReadInputs { address, count } => Request::ReadDiscreteInputs(address, count),
            Op::WriteCoil { address, on } => Request::WriteSingleCoil(address, on),
        }
    }

    fn zh(self) -> String {
        match self {
            Op::ReadInputs { address, count } => {
                format!("读取离散输入 {address}–{}（功能码 0x02）", last(address, count))
            }
            Op::WriteCoil { address, on } => {
                format!("将线圈 {address} 置为{}（功能码 0x05）", if on { "开" } else { "关" })
            }
        }
    }

    fn en(self) -> String {
        match self {
            Op::ReadInputs { address, count } => {
                format!("reading discrete inputs {address}–{} (function 0x02)", last(address, count))
            }
            Op::WriteCoil { address, on } => {
                format!("setting coil {address} {} (function 0x05)", if on { "on" } else { "off" })
            }
        }
    }
}

fn last(address: u16, count: u16) -> u32 {
    (u32::from(address) + u32::from(count)).saturating_sub(1)
}

/// One Modbus/TCP digital-input module. Blocking: call it from `spawn_blocking` (where blocking on
/// its private runtime is allowed); called directly on an async worker thread, tokio panics at the
/// first request, as it does for any nested `block_on`.
pub struct ModbusInputs {
    settings: ModbusSettings,
    /// One request at a time: Modbus/TCP allows pipelining, but many modules and gateways do not,
    /// and answers matched by order are simpler to trust.
    link: Mutex<Link>,
}

impl std::fmt::Debug for ModbusInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModbusInputs").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl ModbusInputs {
    /// Connects on first use, not here, so that a venue file naming a module that is switched
    /// off still loads.
    pub fn new(settings: ModbusSettings) -> Self {
        let link = Link::new(&settings.address, settings.unit_id, Duration::from_millis(settings.timeout_ms));
        ModbusInputs { settings, link: Mutex::new(link) }
    }

    pub fn settings(&self) -> &ModbusSettings {
        &self.settings
    }

    /// Whether a connection is currently held (for status displays and tests).
    pub fn is_connected(&self) -> bool {
        self.link().is_connected()
    }

    fn link(&self) -> MutexGuard<'_, Link> {
        match self.link.lock() {
            Ok(guard) => guard,
            // A caller panicked mid-request; the connection may hold half an exchange.
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.reset();
                self.link.clear_poison();
                guard
            }
        }
    }

    fn check_settings(&self) -> Result<()> {
        if self.settings.timeout_ms == 0 {
            return Err(Error::invalid(
                format!("检测门 I/O 模块 {} 的超时不能为 0 毫秒。", self.settings.address),
                format!(
                    "The timeout of the detector gate's I/O module at {} cannot be 0 ms.",
                    self.settings.address
                ),
            ));
        }
        Ok(())
    }

    fn exchange(&self, op: Op) -> Result<Response> {
        self.check_settings()?;
        let answer = self.link().call(&op.request());
        match answer {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(exception)) => {
                tracing::warn!(address = %self.settings.address, unit = self.settings.unit_id, ?op, ?exception, "Modbus exception");
                Err(self.exception_error(op, exception))
            }
            Err(failure) => {
                tracing::warn!(address = %self.settings.address, unit = self.settings.unit_id, ?op, ?failure, "Modbus request failed");
                Err(self.failure_error(op, failure))
            }
        }
    }

    fn failure_error(&self, op: Op, failure: Failure) -> Error {
        let a = &self.settings.address;
        let t = self.settings.timeout_ms;
        match failure {
            Failure::Connect(e) => Error::new(
                ErrorKind::Unavailable,
                format!(
                    "检测门 I/O 模块 {a} 无响应：{e}。请检查模块电源和网线，并核对场所配置中的地址和端口。"
                ),
                format!(
                    "The detector gate's I/O module at {a} does not respond: {e}. Check the module's power and \
                     network cable, and its address and port in the venue file."
                ),
            ),
            Failure::Silent => Error::new(
                ErrorKind::Unavailable,
                format!(
                    "检测门 I/O 模块 {a} 无响应：{} 在 {t} 毫秒内没有应答。请检查模块电源和网线；如经网关连接，请核对 unit_id。",
                    op.zh()
                ),
                format!(
                    "The detector gate's I/O module at {a} does not respond: no answer to {} within {t} ms. Check \
                     the module's power and network cable; behind a gateway, also check unit_id.",
                    op.en()
                ),
            ),
            Failure::Closed | Failure::Broken(_) => {
                let (zh, en) = match &failure {
                    Failure::Broken(e) => (e.to_string(), e.to_string()),
                    _ => ("模块关闭了连接".to_owned(), "the module closed the connection".to_owned()),
                };
                Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "与检测门 I/O 模块 {a} 的连接中断：{zh}。请检查模块电源和网线；如有其他程序同时连接该模块，模块可能拒绝多余的连接。"
                    ),
                    format!(
                        "The connection to the detector gate's I/O module at {a} broke: {en}. Check the module's \
                         power and network cable; a module may also drop connections beyond its limit when \
                         other programs are connected to it."
                    ),
                )
            }
            Failure::NotModbus(what) => self.not_modbus(&what),
            Failure::Runtime(e) => Error::internal(format!("cannot start the Modbus client's runtime: {e}")),
        }
    }

    fn not_modbus(&self, what: &str) -> Error {
        let a = &self.settings.address;
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "检测门 I/O 模块 {a} 的应答不是 Modbus/TCP（{what}）。请确认该地址和端口上是 Modbus/TCP 模块（通常为 502 端口），并核对 unit_id。"
            ),
            format!(
                "The detector gate's I/O module at {a} answered something that is not Modbus/TCP ({what}). Check \
                 that the address and port belong to a Modbus/TCP module (usually port 502) and check unit_id."
            ),
        )
    }

    fn exception_error(&self, op: Op, exception: ExceptionCode) -> Error {
        let (a, u) = (&self.settings.address, self.settings.unit_id);
        let code = u8::from(exception);
        let who_zh = format!("检测门 I/O 模块 {a}（单元号 {u}）");
        let who_en = format!("The detector gate's I/O module at {a} (unit {u})");
        let (zh, en) = match exception {
            ExceptionCode::IllegalFunction => (
                format!(
                    "{who_zh}不支持{}（Modbus 异常 01：非法功能）。请确认它是数字量输入模块且支持功能码 0x{:02X}。",
                    op.zh(),
                    op.function()
                ),
                format!(
                    "{who_en} does not support {} (Modbus exception 01, illegal function). Check that it is a \
                     digital-input module that supports function 0x{:02X}.",
                    op.en(),
                    op.function()
                ),
            ),
            ExceptionCode::IllegalDataAddress => match op {
                Op::ReadInputs { address, count } => {
                    let end = last(address, count);
                    (
                        format!(
                            "{who_zh}没有离散输入 {address}–{end}（Modbus 异常 02：非法数据地址）。请检查场所配置中的 input_address（模块手册常从 1 开始编号，而 Modbus 地址从 0 开始）。"
                        ),
                        format!(
                            "{who_en} has no discrete inputs {address}–{end} (Modbus exception 02, illegal data \
                             address). Check input_address in the venue file (manuals often number inputs from \
                             1, Modbus addresses start at 0)."
                        ),
                    )
                }
                Op::WriteCoil { address, .. } => (
                    format!(
                        "{who_zh}没有线圈 {address}（Modbus 异常 02：非法数据地址）。请检查警示灯所接线圈的地址。"
                    ),
                    format!(
                        "{who_en} has no coil {address} (Modbus exception 02, illegal data address). Check the \
                         coil address the beacon is wired to."
                    ),
                ),
            },
            ExceptionCode::IllegalDataValue => (
                format!(
                    "{who_zh}拒绝了{}中的数值（Modbus 异常 03：非法数据值）。请检查读取点数是否超出模块允许的范围。",
                    op.zh()
                ),
                format!(
                    "{who_en} rejected a value in {} (Modbus exception 03, illegal data value). Check that the \
                     number of inputs read is within what the module allows.",
                    op.en()
                ),
            ),
            ExceptionCode::ServerDeviceFailure => (
                format!(
                    "{who_zh}在{}时报告内部故障（Modbus 异常 04：从站设备故障）。请给模块断电重启；如仍出现，请更换模块。",
                    op.zh()
                ),
                format!(
                    "{who_en} reports an internal failure while {} (Modbus exception 04, server device \
                     failure). Power-cycle the module; if it persists, replace it.",
                    op.en()
                ),
            ),
            ExceptionCode::ServerDeviceBusy => (
                format!(
                    "{who_zh}正忙，未能{}（Modbus 异常 06：从站设备忙）。请稍后重试；如持续出现，请检查是否有其他程序（如组态软件）频繁访问该模块。",
                    op.zh()
                ),
                format!(
                    "{who_en} is too busy for {} (Modbus exception 06, server device busy). Try again shortly; \
                     if it persists, check whether another program (such as SCADA software) is polling it \
                     heavily.",
                    op.en()
                ),
            ),
            ExceptionCode::GatewayPathUnavailable => (
                format!(
                    "网关 {a} 没有通往单元号 {u} 的路径（Modbus 异常 0A：网关路径不可用）。请检查网关配置和场所配置中的 unit_id。"
                ),
                format!(
                    "The gateway at {a} has no path to unit {u} (Modbus exception 0A, gateway path unavailable). \
                     Check the gateway's configuration and unit_id in the venue file."
                ),
            ),
            ExceptionCode::GatewayTargetDevice => (
                format!(
                    "{a} 上单元号 {u} 的设备无应答（Modbus 异常 0B：网关目标设备无响应）。请核对场所配置中的 unit_id 与模块设置是否一致，并检查网关后设备的电源和 RS-485 接线。"
                ),
                format!(
                    "No device with unit {u} answers behind {a} (Modbus exception 0B, gateway target device \
                     failed to respond). Check that unit_id in the venue file matches the module's setting, and \
                     the power and RS-485 wiring of the device behind the gateway."
                ),
            ),
            other => (
                format!(
                    "{who_zh}对{}返回了 Modbus 异常 {code:02X}（{other}）。请查阅模块手册中该异常码的含义。",
                    op.zh()
                ),
                format!(
                    "{who_en} answered {} with Modbus exception {code:02X} ({other}). Look the code up in the \
                     module's manual.",
                    op.en()
                ),
            ),
        };
        Error::precondition(zh, en)
    }
}

impl DigitalInputs for ModbusInputs {
    fn read_inputs(&self, address: u16, count: u16) -> Result<Vec<bool>> {
        if count == 0 || count > MAX_READ_INPUTS {
            return Err(Error::invalid(
                format!("一次读取的离散输入点数 {count} 无效，应为 1–{MAX_READ_INPUTS}。"),
                format!(
                    "Cannot read {count} discrete inputs at once: the count must be 1–{MAX_READ_INPUTS}."
                ),
            ));
        }
        if u32::from(address) + u32::from(count) > 0x1_0000 {
            return Err(Error::invalid(
                format!(
                    "离散输入 {address} 起的 {count} 点超出 Modbus 地址范围 0–65535。请检查 input_address。"
                ),
                format!(
                    "{count} discrete inputs from {address} run past the Modbus address range 0–65535. Check \
                     input_address."
                ),
            ));
        }
        let op = Op::ReadInputs { address, count };
        let mut bits = match self.exchange(op)? {
            Response::ReadDiscreteInputs(bits) => bits,
            other => return Err(self.not_modbus(&format!("{other:?} to a read of discrete inputs"))),
        };
        // tokio-modbus unpacks every bit of every data byte, so a correct answer is the count
        // rounded up to whole bytes. Fewer means inputs are missing; extra padding bytes lose
        // nothing and are tolerated.
        let wanted = usize::from(count).div_ceil(8) * 8;
        if bits.len() < wanted {
            return Err(self.not_modbus(&format!(
                "{} bytes of input states for {count} inputs, {} expected",
                bits.len() / 8,
                wanted / 8
            )));
        }
        bits.truncate(usize::from(count));
        Ok(bits)
    }

    fn write_coil(&self, address: u16, on: bool) -> Result<()> {
        let op = Op::WriteCoil { address, on };
        match self.exchange(op)? {
            // The module confirms by echoing the request.
            Response::WriteSingleCoil(a, v) if a == address && v == on => {
                tracing::info!(module = %self.settings.address, coil = address, on, "coil written");
                Ok(())
            }
            other => Err(self.not_modbus(&format!("{other:?} to setting coil {address}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Locale;

    fn driver() -> ModbusInputs {
        ModbusInputs::new(ModbusSettings { address: "127.0.0.1:9".into(), unit_id: 1, timeout_ms: 100 })
    }

    #[test]
    fn counts_outside_the_protocol_are_refused_before_connecting() {
        let d = driver();
        for count in [0, MAX_READ_INPUTS + 1, u16::MAX] {
            let e = d.read_inputs(0, count).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument, "count {count}");
        }
        assert_eq!(d.read_inputs(65535, 2).unwrap_err().kind, ErrorKind::InvalidArgument);
        assert!(!d.is_connected());
    }

    #[test]
    fn a_zero_timeout_is_refused() {
        let d = ModbusInputs::new(ModbusSettings { timeout_ms: 0, ..ModbusSettings::new("127.0.0.1:9", 1) });
        assert_eq!(d.read_inputs(0, 1).unwrap_err().kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn each_exception_names_its_cause_and_what_to_check() {
        let d = driver();
        let read = Op::ReadInputs { address: 8, count: 4 };
        let coil = Op::WriteCoil { address: 3, on: true };
        let cases: [(Op, u8, &[&str]); 8] = [
            (read, 0x01, &["exception 01", "illegal function", "0x02"]),
            (read, 0x02, &["exception 02", "input_address", "8–11"]),
            (coil, 0x02, &["exception 02", "coil 3"]),
            (read, 0x03, &["exception 03", "illegal data value"]),
            (read, 0x04, &["exception 04", "device failure"]),
            (read, 0x06, &["exception 06", "busy"]),
            (read, 0x0B, &["exception 0B", "unit_id", "unit 1"]),
            (coil, 0x42, &["exception 42", "setting coil 3 on"]),
        ];
        for (op, code, needles) in cases {
            let e = d.exception_error(op, ExceptionCode::new(code));
            assert_eq!(e.kind, ErrorKind::FailedPrecondition);
            let en = e.message_in(Locale::En);
            for needle in needles {
                assert!(en.contains(needle), "{code:02X}: {en:?} lacks {needle:?}");
            }
            assert!(e.message_in(Locale::ZhCn).contains("127.0.0.1:9"), "{code:02X}");
        }
    }

    #[test]
    fn a_refused_connection_is_unavailable_and_names_the_address() {
        // A port just freed is closed; loopback refuses at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");
        let d = ModbusInputs::new(ModbusSettings::new(address.clone(), 1));
        let e = d.read_inputs(0, 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(e.message_in(Locale::ZhCn).contains(&format!("检测门 I/O 模块 {address} 无响应")), "{e}");
        assert!(e.message_in(Locale::En).contains("power and network cable"), "{e}");
    }

    #[test]
    fn works_from_spawn_blocking_and_may_be_dropped_on_an_async_worker() {
        let sim = crate::sim::modbus::ModbusSim::start("127.0.0.1:0".parse().unwrap(), 1, 8).unwrap();
        sim.set_input(2, true);
        let d = std::sync::Arc::new(ModbusInputs::new(ModbusSettings::new(sim.addr().to_string(), 1)));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let blocking = d.clone();
        let bits = rt.block_on(rt.spawn_blocking(move || blocking.read_inputs(0, 4))).unwrap().unwrap();
        assert_eq!(bits, vec![false, false, true, false]);
        // The fleet is rebuilt on a venue-file reload inside async code; the last reference to a
        // connected driver goes there.
        rt.block_on(rt.spawn(async move { drop(d) })).expect("dropping on an async worker does not panic");
    }
}
