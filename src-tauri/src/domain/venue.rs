//! Rooms, zones and device kinds of a venue (场所).

use serde::{Deserialize, Serialize};

/// 房间类型 — what a room is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// 开标室
    BidOpening,
    /// 评标室
    Evaluation,
    /// 谈判室
    Negotiation,
    /// 磋商室
    Consultation,
    /// 询标室
    Clarification,
    /// 竞价室
    Bidding,
    /// 拍卖厅
    Auction,
    /// 隔夜评标室
    OvernightEvaluation,
    Other,
}

/// 功能分区 — public service, transaction, or the evaluation area behind access control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    PublicService,
    Transaction,
    Evaluation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// 门禁控制器
    DoorController,
    /// 储物柜锁控板
    LockBoard,
    /// 开关量输入模块（通讯检测门报警继电器）
    IoModule,
    Camera,
    Microphone,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoorController => "door_controller",
            Self::LockBoard => "lock_board",
            Self::IoModule => "io_module",
            Self::Camera => "camera",
            Self::Microphone => "microphone",
        }
    }

    /// The drivers that can run this kind of device.
    pub fn drivers(self) -> &'static [&'static str] {
        match self {
            Self::DoorController => &["hik_isapi"],
            Self::LockBoard => &["lockboard_tcp", "lockboard_serial"],
            Self::IoModule => &["modbus_tcp"],
            Self::Camera | Self::Microphone => &["rtsp"],
        }
    }
}
