"""Labels of every code users see, in Chinese and English: one table for the web app (served
as ``GET /api/labels``), the CLI and the reports.

Values are shown as "中文 code" (:func:`label`): Chinese first, the code beside it, as typed
in filters and CLI options. A test fails when a code of the wire contract or of the register's
enums has no label here. Pure: no database or web code.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from models.events import AlertType


class Label(NamedTuple):
    zh: str
    en: str


L = Label
ALERT_TYPES: dict[AlertType, Label] = {
    "out_of_bounds": L("越界", "out of bounds"),
    "signal_lost": L("信号丢失", "signal lost"),
    "phone_off": L("关机", "phone off"),
    "person_phone_separation": L("人机分离", "person-phone separation"),
    "missed_checkin": L("未按时报到", "missed check-in"),
    "forbidden_zone": L("进入禁止区域", "forbidden zone"),
    "home_curfew": L("违反宵禁令", "home curfew breach"),
    "no_contact": L("违反禁止接触", "prohibited contact"),
    "gathering": L("聚集", "gathering"),
    "implausible_movement": L("轨迹异常", "implausible movement"),
    "leave_overstay": L("请假逾期未归", "leave overstay"),
}

Group = Literal[
    "alert_type",
    "severity",
    "alert_state",
    "transition",
    "outcome",
    "action",
    "correction_type",
    "level",
    "zone",
    "end_reason",
    "leave_status",
    "approver",
    "positioning_reason",
    "order_part",
    "geofence_kind",
    "role",
    "recommendation_kind",
    "recommendation_status",
    "zero_report",
    "activity",
    "source",
    "checkin_method",
    "device_event",
    "threshold",
    "audit_action",
]

TABLE: dict[Group, dict[str, Label]] = {
    "alert_type": {str(code): found for code, found in ALERT_TYPES.items()},
    "severity": {"high": L("高", "high"), "medium": L("中", "medium"), "low": L("低", "low")},
    "alert_state": {
        "open": L("待签收", "open"),
        "acknowledged": L("已签收", "acknowledged"),
        "dispatched": L("已派发", "dispatched"),
        "resolved": L("已处置", "resolved"),
    },
    "transition": {
        "opened": L("产生", "opened"),
        "acknowledged": L("签收", "acknowledged"),
        "dispatched": L("派发", "dispatched"),
        "escalated": L("已升级", "escalated"),
        "resolved": L("处置", "resolved"),
    },
    "outcome": {
        "auto_resolved": L("自动解除", "auto resolved"),
        "false_alarm": L("误报", "false alarm"),
        "verified_violation": L("核实违规", "verified violation"),
        "explained": L("情况已说明", "explained"),
    },
    "action": {
        "acknowledge": L("签收", "acknowledge"),
        "dispatch": L("派发", "dispatch"),
        "resolve": L("处置", "resolve"),
    },
    "correction_type": {
        "probation": L("缓刑", "probation"),
        "parole": L("假释", "parole"),
        "control": L("管制", "control"),
        "medical_parole": L("暂予监外执行", "medical parole"),
    },
    "level": {
        "strict": L("严管", "strict"),
        "normal": L("普管", "normal"),
        "lenient": L("宽管", "lenient"),
    },
    "zone": {"east": L("东部", "east"), "central": L("中部", "central"), "west": L("西部", "west")},
    "end_reason": {
        "term_end": L("期满", "term end"),
        "revoked": L("撤销收监", "revoked"),
        "death": L("死亡", "death"),
        "other": L("其他", "other"),
    },
    "leave_status": {
        "requested": L("待审批", "requested"),
        "approved": L("已批准", "approved"),
        "rejected": L("不批准", "rejected"),
        "cancelled": L("已撤销", "cancelled"),
    },
    "approver": {"office": L("司法所", "office"), "county": L("县司法局", "county bureau")},
    "positioning_reason": {
        "prohibition_order": L("违反禁止令", "prohibition order breached"),
        "left_without_approval": L("未经批准离开所居住市、县", "left without approval"),
        "warned_for_not_reporting": L("拒不报告被警告", "warned for not reporting"),
        "police_penalty": L("受治安管理处罚", "police penalty"),
        "pending_revocation": L("拟提请撤销", "pending revocation"),
    },
    "order_part": {
        "zone": L("禁止区域", "forbidden zone"),
        "curfew": L("宵禁", "home curfew"),
        "no_contact": L("禁止接触", "no contact"),
    },
    "geofence_kind": {
        "county": L("县域", "county"),
        "forbidden": L("禁止区域", "forbidden"),
        "exit": L("出县通道", "way out"),
        "island": L("岛屿", "island"),
    },
    "role": {
        "officer": L("司法所干警", "officer"),
        "command": L("指挥中心", "command"),
        "admin": L("管理员", "admin"),
    },
    "recommendation_kind": {
        "commendation": L("表扬", "commendation"),
        "admonition": L("训诫", "admonition"),
        "warning": L("警告", "warning"),
        "revocation_request": L("提请撤销缓刑/假释", "revocation request"),
        "level_change": L("调整管理等级", "level change"),
    },
    "recommendation_status": {
        "proposed": L("待审批", "proposed"),
        "confirmed": L("已确认", "confirmed"),
        "rejected": L("已驳回", "rejected"),
    },
    "zero_report": {"zero": L("零报告", "zero"), "incidents": L("有情况", "incidents")},
    "activity": {
        "study": L("教育学习", "study"),
        "community_service": L("公益活动", "community service"),
        "thought_report": L("思想汇报", "thought report"),
        "psych_test": L("心理测试", "psychological test"),
    },
    "source": {
        "gps": L("卫星定位", "GPS"),
        "cell": L("基站定位", "cell"),
        "wifi": L("无线网络定位", "Wi-Fi"),
    },
    "checkin_method": {"face": L("人脸识别", "face"), "fingerprint": L("指纹", "fingerprint")},
    "device_event": {"power_off": L("关机", "power off"), "power_on": L("开机", "power on")},
    "threshold": {  # alerts/policy.toml's thresholds, shown on /periods
        "confirm_fixes": L("确认定位次数", "fixes to confirm"),
        "dwell_s": L("越界停留(秒)", "dwell (s)"),
        "hysteresis_m": L("边界缓冲(米)", "hysteresis (m)"),
        "far_outside_m": L("远离县界(米)", "far outside (m)"),
        "far_accuracy_factor": L("远离精度倍数", "far accuracy factor"),
        "max_speed_kmh": L("最高速度(公里/时)", "max speed (km/h)"),
        "suspects_to_alert": L("可疑定位告警数", "suspect fixes to alert"),
        "position_step_m": L("位置更新距离(米)", "position step (m)"),
        "position_refresh_s": L("位置刷新间隔(秒)", "position refresh (s)"),
        "silence_s": L("信号丢失(秒)", "silence (s)"),
        "phone_off_s": L("关机(秒)", "phone off (s)"),
        "checkin_grace_s": L("报到宽限(秒)", "check-in grace (s)"),
        "overstay_grace_s": L("销假宽限(秒)", "overstay grace (s)"),
        "forbidden_buffer_m": L("禁止区域缓冲(米)", "forbidden buffer (m)"),
        "forbidden_dwell_s": L("禁止区域停留(秒)", "forbidden dwell (s)"),
        "gathering_distance_m": L("聚集距离(米)", "gathering distance (m)"),
        "gathering_dwell_s": L("聚集时长(秒)", "gathering dwell (s)"),
        "curfew_fixes": L("宵禁定位次数", "curfew fixes"),
        "no_contact_distance_m": L("禁止接触距离(米)", "no-contact distance (m)"),
        "no_contact_dwell_s": L("禁止接触时长(秒)", "no-contact dwell (s)"),
        "separation_m": L("人机分离距离(米)", "separation (m)"),
        "separation_window_s": L("人机分离窗口(秒)", "separation window (s)"),
        "sla_s": L("签收时限(秒)", "SLA (s)"),
    },
    "audit_action": {
        "login": L("登录", "log-in"),
        "logout": L("退出", "log-out"),
        "login.failed": L("登录失败", "log-in failed"),
        "login.throttled": L("登录受限", "log-in throttled"),
        "login.locked": L("账户锁定", "account locked"),
        "user.create": L("新增用户", "user created"),
        "user.deactivate": L("停用用户", "user deactivated"),
        "user.reactivate": L("启用用户", "user reactivated"),
        "user.reset_password": L("重置密码", "password reset"),
        "user.access": L("变更角色或司法所", "role or office changed"),
        "user.end_sessions": L("结束登录", "sessions ended"),
        "user.unlock": L("解锁", "unlocked"),
        "user.change_password": L("修改密码", "password changed"),
        "subject.read": L("查阅对象", "subject read"),
        "track.read": L("查阅轨迹", "track read"),
        "map.read": L("查阅地图", "map read"),
        "stats.read": L("查阅统计", "statistics read"),
        "positioning.read": L("查阅定位审批", "approvals read"),
        "audit.read": L("查阅审计日志", "audit log read"),
        "register.intake": L("入矫", "intake"),
        "register.transfer": L("执行地变更", "transfer"),
        "register.release": L("解矫", "release"),
        "leave.request": L("申请请假", "leave requested"),
        "leave.approve": L("批准请假", "leave approved"),
        "leave.reject": L("不批准请假", "leave rejected"),
        "leave.extend": L("续假", "leave extended"),
        "leave.cancel": L("撤销请假", "leave cancelled"),
        "leave.return": L("销假", "returned from leave"),
        "order.issue": L("登记禁止令", "order issued"),
        "order.lift": L("解除禁止令", "order lifted"),
        "positioning.approve": L("批准电子定位", "positioning approved"),
        "positioning.extend": L("延长电子定位", "positioning extended"),
        "positioning.revoke": L("撤销电子定位", "positioning revoked"),
        "office.save": L("保存司法所", "office saved"),
        "terminal.add": L("新增终端", "terminal added"),
        "terminal.move": L("迁移终端", "terminal moved"),
        "terminal.retire": L("停用终端", "terminal retired"),
        "period.save": L("保存安保期", "security period saved"),
        "subject.denied": L("拒绝查阅对象", "subject denied"),
        "track.denied": L("拒绝查阅轨迹", "track denied"),
        "register.read.denied": L("拒绝查阅档案", "register read denied"),
        "role.denied": L("角色无权", "role denied"),
        "page.denied": L("页面无权", "page denied"),
        "csrf.denied": L("令牌无效", "CSRF denied"),
        "password.change_first": L("须先修改密码", "password change first"),
        **{
            f"alert.{a}.{step}": L(f"{zh}{step_zh}", f"{a} {step}")
            for a, zh in (("acknowledge", "签收"), ("dispatch", "派发"), ("resolve", "处置"))
            for step, step_zh in (
                ("requested", "已提交"),
                ("accepted", "已受理"),
                ("rejected", "被拒绝"),
                ("denied", "无权"),
            )
        },
    },
}


# Column headings of the CLI's tables (times are Beijing time).
HEADINGS: dict[str, Label] = {
    "id": L("编号", "id"),
    "alert_id": L("告警编号", "id (for `ccwatch act`)"),
    "opened": L("发生时间", "opened (local)"),
    "when": L("时间", "when (local)"),
    "subject": L("矫正对象", "subject"),
    "office": L("司法所", "office"),
    "type": L("类型", "type"),
    "state": L("状态", "state"),
    "status": L("状态", "status"),
    "rule": L("规则", "rule"),
    "reason": L("原因", "reason"),
    "delta": L("分值", "points"),
    "ruleset": L("规则版本", "ruleset"),
    "evidence": L("证据", "evidence"),
    "month": L("月份", "month"),
    "kind": L("种类", "kind"),
    "name": L("名称", "name"),
    "name_zh": L("中文名", "name (zh)"),
    "name_en": L("英文名", "name (en)"),
    "starts": L("开始", "starts (local)"),
    "ends": L("结束", "ends (local)"),
    "offices": L("司法所", "offices"),
    "key": L("密钥", "key"),
    "device": L("设备", "device"),
    "created": L("创建", "created (local)"),
    "retired_from": L("停用自", "retired from (local)"),
    "retired": L("停用", "retired (local)"),
    "day": L("日期", "day"),
    "period": L("安保时期", "security period"),
    "alerts_opened": L("新增告警", "alerts opened"),
    "still_open": L("未处置", "still open"),
    "from": L("自", "from (local)"),
    "to": L("至", "to (local)"),
    "destination": L("目的地", "destination"),
    "approver": L("审批", "approver"),
    "document": L("文书", "document"),
    "from_day": L("起始日", "from"),
    "last_day": L("截止日", "last day"),
    "zones": L("禁止区域", "zones"),
    "curfew": L("宵禁", "curfew"),
    "no_contact": L("禁止接触", "no contact"),
    "ends_on": L("到期日", "ends on"),
    "days_left": L("剩余天数", "days left"),
    "zone": L("片区", "zone"),
    "lat": L("纬度", "lat"),
    "lon": L("经度", "lon"),
    "keys_in_force": L("在用密钥", "keys in force"),
    "user": L("用户", "user"),
    "role": L("角色", "role"),
    "active": L("在用", "active"),
    "must_change": L("须改密码", "must change password"),
    "sessions": L("登录", "sessions"),
    "failures": L("失败次数", "failures"),
    "last_attempt": L("最后尝试", "last attempt (local)"),
    "locked_until": L("锁定至", "locked until (local)"),
}


# The monthly report's CSV columns (reports/report.py), by column code.
REPORT_COLUMNS: dict[str, Label] = {
    "month": L("月份", "month"),
    "subject_id": L("对象编号", "subject id"),
    "name": L("姓名", "name"),
    "office_id": L("司法所", "office"),
    "zone": L("片区", "zone"),
    "level": L("管理等级", "level"),
    "opening": L("月初余额", "opening balance"),
    "score": L("本月得分", "month score"),
    "closing": L("月末余额", "closing balance"),
    "entries": L("计分条数", "entries"),
    "recommendations": L("奖惩建议", "recommendations"),
    "occurred_at": L("发生时间", "occurred at (local)"),
    "rule_id": L("规则", "rule"),
    "rule_version": L("规则版次", "rule version"),
    "ruleset": L("规则集", "ruleset"),
    "delta": L("分值", "points"),
    "reason_zh": L("原因", "reason"),
    "reason_en": L("原因英文", "reason (en)"),
    "evidence": L("证据", "evidence"),
    "entry_id": L("条目编号", "entry id"),
    "reverses_entry_id": L("冲正条目", "reverses entry"),
}


def csv_heading(code: str) -> str:
    """A report CSV column's heading: the Chinese label, then the code a program reads."""
    return f"{REPORT_COLUMNS[code].zh}({code})"


def heading(name: str) -> str:
    """A CLI column's heading: Chinese over English."""
    found = HEADINGS[name]
    return f"{found.zh}\n{found.en}"


def zh(group: Group, code: str) -> str:
    """The Chinese label, or the code itself when it has none."""
    found = TABLE[group].get(code)
    return found.zh if found else code


def en(group: Group, code: str) -> str:
    found = TABLE[group].get(code)
    return found.en if found else code


def label(group: Group, code: str) -> str:
    """ "越界 out_of_bounds": Chinese, then the code; an unknown code alone."""
    found = TABLE[group].get(code)
    return f"{found.zh} {code}" if found else code


def zh_names(group: Group) -> dict[str, str]:
    """Code -> Chinese label, for one group."""
    return {code: found.zh for code, found in TABLE[group].items()}


def as_json() -> dict[str, dict[str, dict[str, str]]]:
    """The table for the pages: group -> code -> {zh, en}."""
    return {g: {c: x._asdict() for c, x in codes.items()} for g, codes in TABLE.items()}
