"""The stable reference data every branch starts with (PRODUCT.md §5): districts, job types,
certification types and requirements, reasons for leaving unresolved, and rows for the default
rules (fieldsvc.rules)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .certifications.models import CertificationCategory, CertificationType, JobTypeRequirement
from .extensions import db
from .rules.models import MetricSetting
from .rules.services import DEFAULT_RULES, RULES_EFFECTIVE_FROM
from .workforce.models import District, JobType
from .workorders.models import UnresolvedReason

# code, 中文, English, central district?
DISTRICTS = [
    ("jiangan", "江岸区", "Jiang'an", True),
    ("jianghan", "江汉区", "Jianghan", True),
    ("qiaokou", "硚口区", "Qiaokou", True),
    ("hanyang", "汉阳区", "Hanyang", True),
    ("wuchang", "武昌区", "Wuchang", True),
    ("qingshan", "青山区", "Qingshan", True),
    ("hongshan", "洪山区", "Hongshan", True),
    ("dongxihu", "东西湖区", "Dongxihu", False),
    ("hannan", "汉南区", "Hannan", False),
    ("caidian", "蔡甸区", "Caidian", False),
    ("jiangxia", "江夏区", "Jiangxia", False),
    ("huangpi", "黄陂区", "Huangpi", False),
    ("xinzhou", "新洲区", "Xinzhou", False),
]

# code, 中文, English, category, validity months, review months, renewal window days,
# (min level, max level, descending?), work at height?
CERTIFICATION_TYPES = [
    ("service_star", "服务规范认证(星级)", "Service-standard certification (stars)", CertificationCategory.SERVICE,
     12, None, 60, (1, 5, False), False),
    ("skill_level", "装维技能等级认证", "Installer skill level", CertificationCategory.SKILL,
     36, None, 90, (1, 5, True), False),
    ("work_at_height", "特种作业操作证(高处安装、维护、拆除作业)", "Special operations: work at height",
     CertificationCategory.LEGAL, 72, 36, 90, (None, None, False), True),
    ("low_voltage_electrician", "特种作业操作证(低压电工作业)", "Special operations: low-voltage electrician",
     CertificationCategory.LEGAL, 72, 36, 90, (None, None, False), False),
    ("ftth", "光纤到户(FTTH)安装调试专项能力", "FTTH installation and commissioning", CertificationCategory.SKILL,
     36, None, 90, (None, None, False), False),
]

EVIDENCE_FOR_LINE_WORK = ["onu_serial", "rx_power_dbm"]

# code, 中文, English, cut-off hour, deadline hours, repair?, install?, evidence, required cert types (code, min level)
JOB_TYPES: list[tuple[Any, ...]] = [
    ("install", "新装", "New install", 16, 24, False, True, EVIDENCE_FOR_LINE_WORK,
     [("ftth", None), ("service_star", 1)]),
    ("relocation", "移机", "Relocation", 16, 24, False, False, EVIDENCE_FOR_LINE_WORK,
     [("ftth", None), ("service_star", 1)]),
    ("upgrade", "改速/升级", "Speed upgrade", 16, 24, False, False, EVIDENCE_FOR_LINE_WORK, [("service_star", 1)]),
    ("repair", "修障", "Fault repair", 16, 24, True, False, ["fault_cause"], [("service_star", 1)]),
    ("smart_home", "全屋WiFi", "Smart-home Wi-Fi", 16, 48, False, False, ["speed_mbps"],
     [("service_star", 1), ("skill_level", 3)]),
    ("iptv", "IPTV", "IPTV", 16, 24, False, False, [], [("service_star", 1)]),
    ("removal", "拆机", "Removal", None, 72, False, False, [], [("service_star", 1)]),
]

# code, 中文, English
UNRESOLVED_REASONS = [
    ("customer_absent", "用户不在家/联系不上", "Customer not home / unreachable"),
    ("customer_reschedule", "用户要求改约", "Customer asked to reschedule"),
    ("customer_cancel", "用户撤单/不装了", "Customer cancelled"),
    ("no_port", "缺资源:分光器端口满", "No resource: splitter port full"),
    ("no_coverage", "缺资源:无光纤覆盖", "No fibre coverage / resource not ready"),
    ("line_fault", "外线/主干光缆故障", "Outside-plant / feeder fibre fault"),
    ("property_access", "物业阻挠/无法入户", "Property management blocks access"),
    ("missing_material", "缺料/终端缺货", "Missing material / ONU out of stock"),
    ("needs_escalation", "需技术支撑/升级处理", "Needs escalation / specialist"),
    ("needs_second_visit", "需二次上门(施工未完成)", "Revisit needed (work incomplete)"),
    ("weather", "恶劣天气/不可抗力", "Bad weather / force majeure"),
    ("customer_device", "用户自备设备问题", "Customer-owned device issue"),
    ("other", "其他", "Other"),
]

# The service standard (规范制度, DOMAIN.md): code, phase, required?, 中文, English. The demo puts
# these steps in force, back-dated for its history (fieldsvc/demo/service.py); `ensure_standards`
# does it as of today; `ensure_reference_data` does not, so a branch (and the test suite) starts
# without a checklist until an admin or the demo puts one in force.
_STANDARD_COMMON_START = [
    ("booked_call", "before_arrival", True, "派单后及时电话联系用户预约", "Call the customer to book soon after dispatch"),
    ("arrived_in_window", "on_site", False, "在预约时段内上门", "Arrive within the booked window"),
    ("badge_shown", "on_site", True, "出示工牌、自我介绍", "Show the badge and introduce yourself"),
    ("shoe_covers", "on_site", True, "进门穿戴鞋套", "Put on shoe covers at the door"),
]
_STANDARD_SPEED_TEST = ("speed_test", "at_completion", True, "与用户一起测速并确认", "Test the speed together with the customer")
_STANDARD_IPTV_TEST = ("iptv_test", "at_completion", True, "与用户一起试看频道", "Play a channel together with the customer")
_STANDARD_COMMON_END = [
    ("cleaned_up", "at_completion", True, "清理施工现场", "Clean up the work area"),
    ("explained", "at_completion", True, "向用户讲解使用及注意事项", "Explain the service and what to watch for"),
    ("rating_card", "at_completion", True, "留下服务评价卡并邀请扫码评价", "Leave the rating card and invite a rating"),
]
STANDARD_STEPS: dict[str, list[tuple[str, str, bool, str, str]]] = {
    code: [*_STANDARD_COMMON_START,
           *([_STANDARD_IPTV_TEST] if code == "iptv" else [] if code == "removal" else [_STANDARD_SPEED_TEST]),
           *_STANDARD_COMMON_END]
    for code, *_rest in JOB_TYPES
}


def ensure_standards() -> None:
    """Put the default service standard in force for each job type that has none yet (the demo)."""
    from .workorders.standards import Phase, StepInput, current_version, put_version

    for job_type in db.session.scalars(select(JobType).where(JobType.code.in_(STANDARD_STEPS))):
        if current_version(job_type.id) is None:
            put_version(job_type, [StepInput(code, zh, en, Phase(phase), required)
                                   for code, phase, required, zh, en in STANDARD_STEPS[job_type.code]],
                        None, seen=0, note="default")


def ensure_reference_data() -> None:
    """Add whatever reference rows are missing (by code); existing rows are left as admins set them."""
    _ensure(District, "code", [
        {"code": c, "name_zh": zh, "name_en": en, "is_central": central} for c, zh, en, central in DISTRICTS
    ])
    _ensure(CertificationType, "code", [
        {"code": c, "name_zh": zh, "name_en": en, "category": cat, "validity_months": months,
         "review_months": review, "renewal_window_days": window, "min_level": levels[0],
         "max_level": levels[1], "is_level_descending": levels[2], "is_work_at_height": height}
        for c, zh, en, cat, months, review, window, levels, height in CERTIFICATION_TYPES
    ])
    _ensure(UnresolvedReason, "code", [
        {"code": c, "name_zh": zh, "name_en": en, "sort_order": i} for i, (c, zh, en) in enumerate(UNRESOLVED_REASONS)
    ])
    added = _ensure(JobType, "code", [
        {"code": c, "name_zh": zh, "name_en": en, "same_day_cutoff_hour": cutoff, "deadline_hours": hours,
         "is_repair": repair, "is_install": install, "required_evidence": list(evidence)}
        for c, zh, en, cutoff, hours, repair, install, evidence, _reqs in JOB_TYPES
    ])
    cert_ids = dict(db.session.execute(select(CertificationType.code, CertificationType.id)).all())
    for code, *_rest, requirements in JOB_TYPES:
        if code in added:
            for cert_code, min_level in requirements:
                db.session.add(JobTypeRequirement(
                    job_type_id=added[code], certification_type_id=cert_ids[cert_code], min_level=min_level))
    existing = set(db.session.scalars(select(MetricSetting.key)))
    for key, value in DEFAULT_RULES.items():
        if key not in existing:
            db.session.add(MetricSetting(key=key, value=value, effective_from=RULES_EFFECTIVE_FROM))
    db.session.flush()


def _ensure(model: type, key: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Insert the rows whose `key` is not there yet; returns {key: id} of those added."""
    column = getattr(model, key)
    present = set(db.session.scalars(select(column)))
    added = {}
    for row in rows:
        if row[key] not in present:
            obj = model(**row)
            db.session.add(obj)
            db.session.flush()
            added[row[key]] = getattr(obj, "id", row[key])
    return added
