"""The demo's standard-procedure notes (#15 item 5): three short ones an installer would reach for
at the door (weak optical signal, no free port, the standard install visit), in both languages."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..db import UTC
from ..extensions import db
from ..support.knowledge import ProcedureNote, ProcedureNoteCategory
from ..workforce.models import JobType

if TYPE_CHECKING:
    from .seed import Seeder

# (title zh, title en, body zh, body en, job types, support categories)
NOTES = (
    ("光功率偏低排查", "Weak optical signal: what to check",
     "ONU 收光功率应在 **-8 至 -27 dBm** 之间。低于 -27 dBm 时按顺序排查：\n\n"
     "1. 用光功率计在分纤箱端口测一次，确认是入户段还是主干段的问题；\n"
     "2. 清洁并检查 SC/APC 连接器，端面脏污最常见；\n"
     "3. 检查皮线有无弯折（弯曲半径不小于 15 mm）、被门窗压住；\n"
     "4. 仍然偏低：冷接子重新接续，再测一次。\n\n"
     "分纤箱端口本身就低于 -25 dBm 的，属于外线问题：在工单上**求助**，选「光信号」，附上读数。",
     "The ONU's receive power should be between **-8 and -27 dBm**. Below -27 dBm, check in this order:\n\n"
     "1. Measure at the splitter-box port with the power meter: drop cable or feeder?\n"
     "2. Clean and inspect the SC/APC connectors; a dirty end face is the usual cause;\n"
     "3. Look for bends in the drop cable (radius at least 15 mm) or a door or window pinching it;\n"
     "4. Still low: remake the field splice and measure again.\n\n"
     "If the port itself reads below -25 dBm, it is an outside-plant problem: **ask for help** from the job, "
     "category \"Optical signal\", with the reading.",
     ("install", "repair", "relocation"), ("optical_signal",)),
    ("分纤箱无空闲端口", "No free port in the splitter box",
     "1. 先在资源系统里核对端口占用，常有已拆机未释放的端口；\n"
     "2. 现场核对标签，拍下分纤箱内部照片；\n"
     "3. 确实无端口：在工单上**求助**，选「资源/端口」，写明分纤箱编号，等待资源调度回复；\n"
     "4. 与客户说明情况并约定回访时间，**不要**私自占用他人端口。",
     "1. Check the port assignments in the resource system first: ports of removed services are often not released;\n"
     "2. Check the labels on site and photograph the inside of the box;\n"
     "3. Really none free: **ask for help** from the job, category \"Resource / port\", with the box number, "
     "and wait for the resource desk's reply;\n"
     "4. Explain to the customer and agree a time to come back; **never** take someone else's port.",
     ("install", "relocation"), ("resource_port",)),
    ("新装上门服务规范", "New install: the standard visit",
     "- 派单后 30 分钟内电话预约客户；\n- 按约定时段到达，出示工牌，穿鞋套；\n"
     "- 装机完成后与客户一起测速，并讲解路由器和 IPTV 的使用；\n- 清理现场，带走包装和线头；\n"
     "- 请客户扫码评价。",
     "- Call the customer to book within 30 minutes of dispatch;\n"
     "- Arrive in the booked window, show your badge, put on shoe covers;\n"
     "- When done, test the speed with the customer and explain the router and IPTV;\n"
     "- Clean up, take the packaging and offcuts away;\n- Ask the customer to scan the rating code.",
     ("install",), ()),
)


def write_notes(s: Seeder) -> None:
    """The demo's notes, written by its admin a few weeks before `now`."""
    types = {t.code: t for t in db.session.scalars(select(JobType))}
    written = s.now.astimezone(UTC) - timedelta(days=21)
    for title_zh, title_en, body_zh, body_en, job_types, categories in NOTES:
        db.session.add(ProcedureNote(
            title_zh=title_zh, title_en=title_en, body_zh=body_zh, body_en=body_en, is_active=True, version=1,
            created_at=written, updated_at=written, updated_by_id=s.admin_id,
            job_types=[types[c] for c in job_types if c in types],
            category_links=[ProcedureNoteCategory(category=c) for c in categories]))
    db.session.flush()
    s.counts["procedure_notes"] = len(NOTES)
