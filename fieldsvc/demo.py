"""The realistic demo data behind `fieldsvc seed-demo` and `fieldsvc demo` (DOMAIN.md §2–3).

`seed_demo` fills an empty database: teams across Wuhan's 13 districts, supervisors and installers
with bilingual names, certificates and training, customers, and `days` days of work orders with
their visits, event trail and ratings, driven by a latent installer skill so that dashboards show
coherent good and weak performers.

It is a CLI-edge job and commits itself. The same seed and the same `today` give the same rows
(one `random.Random(seed)`, consumed in a fixed order; the password hash is the one exception,
salted as always). The clock of the demo stops at `DEMO_CLOCK` local time on `today`: orders are
simulated to the end and then cut at that moment, so today's jobs stand in every open state.

Scale: 1,000 installers × 730 days is millions of rows, so orders are generated a day at a time
with ids counted here and written in bulk: COPY on PostgreSQL (fed by a writer thread, so the
server works while Python generates the next day), executemany on SQLite. Nothing holds more
than a day of orders in memory.
"""
from __future__ import annotations

import hashlib
import math
import queue
import secrets
import threading
import time as wallclock
from array import array
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from random import Random
from typing import Any

from sqlalchemy import Table, func, insert, select

from .auth.models import EmployerType, Role, User
from .certifications.models import (
    Certification,
    CertificationType,
    TrainingCourse,
    TrainingRecord,
    TrainingResult,
    TrainingSession,
)
from .certifications.services import add_months, certificate_dates
from .db import UTC, local_today, without_statement_timeout, zone
from .extensions import db
from .reference import ensure_reference_data
from .rules.services import setting
from .workforce.models import District, JobType, Team, team_districts, team_supervisors
from .workorders.models import OrderStatus, WorkOrder

DEMO_PASSWORD = "demo-pass-2026"
DEMO_CLOCK = time(14, 10)  # the demo's "now" on `today`, local time (see the module docstring)

# --- Wuhan: districts (DOMAIN §3.1–3.2) -------------------------------------------------------

@dataclass(frozen=True)
class _DistrictInfo:
    abbr: str  # team-code prefix
    short_zh: str
    installers: int  # DOMAIN §3.1 installer estimate: the share of teams and work
    areas: tuple[tuple[str, str], ...]  # 片区/街道 for team names: (中文, pinyin)
    roads: tuple[str, ...]
    neighbours: tuple[str, ...]
    centre: tuple[float, float]


DISTRICT_INFO: dict[str, _DistrictInfo] = {
    "jiangan": _DistrictInfo("JA", "江岸", 83, (("后湖", "Houhu"), ("二七", "Erqi"), ("百步亭", "Baibuting"),
                             ("台北", "Taibei"), ("堤角", "Dijiao")),
                             ("解放大道", "建设大道", "后湖大道", "黄浦大街", "二七路", "台北路", "沿江大道", "金桥大道"),
                             ("jianghan", "huangpi"), (30.615, 114.305)),
    "jianghan": _DistrictInfo("JH", "江汉", 56, (("唐家墩", "Tangjiadun"), ("万松", "Wansong"), ("汉兴", "Hanxing"),
                              ("前进", "Qianjin")),
                              ("解放大道", "建设大道", "新华路", "唐家墩路", "江汉路", "发展大道", "青年路"),
                              ("jiangan", "qiaokou"), (30.601, 114.268)),
    "qiaokou": _DistrictInfo("QK", "硚口", 57, (("古田", "Gutian"), ("宝丰", "Baofeng"), ("汉正", "Hanzheng"),
                             ("长丰", "Changfeng")),
                             ("解放大道", "中山大道", "古田二路", "宝丰路", "长丰大道", "汉正街", "京汉大道"),
                             ("jianghan", "dongxihu"), (30.580, 114.225)),
    "hanyang": _DistrictInfo("HY", "汉阳", 72, (("四新", "Sixin"), ("王家湾", "Wangjiawan"),
                             ("钟家村", "Zhongjiacun"), ("江堤", "Jiangdi")),
                             ("汉阳大道", "鹦鹉大道", "龙阳大道", "四新大道", "芳草路", "琴台大道", "墨水湖北路"),
                             ("caidian", "qiaokou"), (30.552, 114.218)),
    "wuchang": _DistrictInfo("WC", "武昌", 105, (("中南", "Zhongnan"), ("积玉桥", "Jiyuqiao"), ("首义", "Shouyi"),
                             ("南湖", "Nanhu"), ("徐家棚", "Xujiapeng")),
                             ("武珞路", "中北路", "中南路", "和平大道", "友谊大道", "徐东大街", "民主路", "中山路"),
                             ("hongshan", "qingshan"), (30.553, 114.316)),
    "qingshan": _DistrictInfo("QS", "青山", 40, (("红卫路", "Hongweilu"), ("钢都", "Gangdu"), ("武东", "Wudong")),
                              ("和平大道", "建设一路", "冶金大道", "友谊大道", "红钢城大街", "工业路"),
                              ("hongshan", "wuchang"), (30.632, 114.385)),
    "hongshan": _DistrictInfo("HS", "洪山", 230, (("光谷", "Guanggu"), ("关山", "Guanshan"), ("珞南", "Luonan"),
                              ("和平", "Heping"), ("青菱", "Qingling"), ("花山", "Huashan"), ("左岭", "Zuoling"),
                              ("佛祖岭", "Fozuling")),
                              ("珞喻路", "光谷大道", "关山大道", "雄楚大道", "民族大道", "鲁磨路", "南湖大道",
                               "高新大道"),
                              ("wuchang", "jiangxia"), (30.505, 114.400)),
    "dongxihu": _DistrictInfo("DXH", "东西湖", 69, (("吴家山", "Wujiashan"), ("金银湖", "Jinyinhu"),
                              ("将军路", "Jiangjunlu")),
                              ("东吴大道", "金银湖路", "将军路", "临空港大道", "吴中街"),
                              ("qiaokou", "huangpi"), (30.620, 114.140)),
    "hannan": _DistrictInfo("HN", "汉南", 39, (("纱帽", "Shamao"), ("军山", "Junshan"), ("沌口", "Zhuankou")),
                            ("汉南大道", "纱帽正街", "兴城大道", "东风大道", "沌阳大道"),
                            ("caidian",), (30.310, 114.085)),
    "caidian": _DistrictInfo("CD", "蔡甸", 45, (("蔡甸街", "Caidianjie"), ("奓山", "Zhashan"), ("索河", "Suohe")),
                             ("蔡甸大街", "知音湖大道", "汉阳大街", "成功大道", "新天大道"),
                             ("hanyang", "hannan"), (30.583, 114.030)),
    "jiangxia": _DistrictInfo("JX", "江夏", 80, (("纸坊", "Zhifang"), ("藏龙岛", "Canglongdao"),
                              ("庙山", "Miaoshan"), ("五里界", "Wulijie")),
                              ("文化大道", "江夏大道", "纸坊大街", "藏龙大道", "光谷一路"),
                              ("hongshan",), (30.375, 114.320)),
    "huangpi": _DistrictInfo("HP", "黄陂", 99, (("前川", "Qianchuan"), ("盘龙城", "Panlongcheng"), ("武湖", "Wuhu"),
                             ("横店", "Hengdian")),
                             ("前川大道", "百秀街", "盘龙大道", "黄陂大道", "巨龙大道"),
                             ("xinzhou", "jiangan"), (30.880, 114.375)),
    "xinzhou": _DistrictInfo("XZ", "新洲", 74, (("邾城", "Zhucheng"), ("阳逻", "Yangluo"), ("仓埠", "Cangbu")),
                             ("邾城街", "新洲大道", "齐安大道", "阳逻开发区大道", "施岗路"),
                             ("huangpi", "qingshan"), (30.842, 114.802)),
}

_CN_NUMERALS = "一二三四五六七八九十"

# --- People (DOMAIN §3.5) ---------------------------------------------------------------------

SURNAMES = (("张", "Zhang"), ("王", "Wang"), ("李", "Li"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
            ("黄", "Huang"), ("胡", "Hu"), ("周", "Zhou"), ("吴", "Wu"), ("徐", "Xu"), ("孙", "Sun"), ("朱", "Zhu"),
            ("高", "Gao"), ("罗", "Luo"), ("郑", "Zheng"), ("余", "Yu"), ("万", "Wan"), ("彭", "Peng"),
            ("熊", "Xiong"), ("汪", "Wang"), ("程", "Cheng"), ("夏", "Xia"), ("涂", "Tu"))
GIVEN_MALE = (("伟", "Wei"), ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("勇", "Yong"), ("杰", "Jie"),
              ("涛", "Tao"), ("斌", "Bin"), ("超", "Chao"), ("明", "Ming"), ("刚", "Gang"), ("鹏", "Peng"),
              ("俊", "Jun"), ("浩", "Hao"), ("宇", "Yu"), ("凯", "Kai"), ("晨", "Chen"), ("亮", "Liang"))
GIVEN_FEMALE = (("敏", "Min"), ("静", "Jing"), ("丽", "Li"), ("婷", "Ting"), ("芳", "Fang"), ("燕", "Yan"))
TELECOM_PREFIXES = ("133", "153", "173", "177", "180", "181", "189", "199")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "158", "159", "177", "180", "181", "186", "187", "189", "199")
ESTATES = ("阳光花园", "丽水家园", "东湖景园", "幸福小区", "和平里", "锦绣华庭", "翠湖苑", "金色港湾", "万科城",
           "保利城", "融侨华府", "新城之都", "百瑞景", "佳园小区", "学府佳园", "长江明珠", "江南家园", "紫阳苑",
           "南湖山庄", "梅苑小区", "桃花源", "春江花月", "荷花苑", "光谷新世界")

# --- Jobs (DOMAIN §2.1, §2.3, §3.3) -----------------------------------------------------------

# code: (share of jobs %, on-site median minutes, first-visit adjustment, booked days ahead prob.)
# DOMAIN's CHECK type (2%) has no job type here; the shares are used as relative weights.
JOB_MIX: dict[str, tuple[float, float, float, float]] = {
    "install": (25, 70, -0.03, 0.15),
    "relocation": (8, 75, -0.03, 0.20),
    "upgrade": (6, 35, 0.03, 0.08),
    "repair": (45, 40, 0.01, 0.02),
    "smart_home": (6, 110, -0.01, 0.20),
    "iptv": (4, 40, 0.02, 0.08),
    "removal": (4, 20, 0.05, 0.25),
}
WEEKEND_INSTALL_BOOST = 1.3  # installs peak at weekends (DOMAIN §3.3)
DURATION_SIGMA = 0.45
# Jobs per installer per working day, by weekday (Monday's repair peak). PRODUCT.md §6 sizes a
# branch at ~2,700 orders a day for 1,000+ installers (≈2 M orders in two years), which is about
# 3.2 a working day; DOMAIN.md's 5.5 counts visits of all kinds, including follow-ups.
JOBS_PER_DAY = {0: 3.6, 1: 3.2, 2: 3.2, 3: 3.2, 4: 3.2, 5: 3.1, 6: 2.9}
JOBS_MIN, JOBS_MAX = 1, 7
# Booking windows (local hour of start; two hours each) and how often customers pick them.
WINDOWS = (9, 11, 14, 16, 18)
WINDOW_WEIGHTS = (26, 22, 22, 18, 12)
# Orders arriving by local hour: peaks 09–11 and 19–21 (faults).
HOURLY = (0.3, 0.15, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4, 8, 9, 7.5, 5, 5, 5.5, 5.5, 5, 4.5, 5, 7, 7.5, 6, 3, 1.2)

# reason: (share of failed visits %, same-day revisit probability, days to a later revisit)
REASONS: dict[str, tuple[float, float, int]] = {
    "customer_absent": (28, 0.9, 2),
    "customer_reschedule": (18, 0.65, 3),
    "customer_cancel": (7, 0.0, 0),
    "no_port": (10, 0.2, 5),
    "no_coverage": (5, 0.0, 7),
    "line_fault": (9, 0.35, 4),
    "property_access": (7, 0.35, 3),
    "missing_material": (5, 0.75, 2),
    "needs_escalation": (4, 0.6, 2),
    "needs_second_visit": (4, 0.5, 2),
    "weather": (2, 0.3, 2),
    "customer_device": (1, 0.8, 2),
    "other": (1, 0.6, 2),
}
INSTALLER_FAULT_REASONS = ("missing_material", "needs_escalation", "needs_second_visit")
REASON_NOTES = {
    "customer_absent": ("电话无人接听，已短信告知", "敲门无人应答", "用户临时外出"),
    "customer_reschedule": ("用户要求改约", "用户改约到晚上", "用户要求周末上门"),
    "customer_cancel": ("用户现场表示不装了", "用户已办理其他运营商业务"),
    "no_port": ("分光器端口已满，已报资源", "箱体无空闲端口"),
    "no_coverage": ("小区无光纤覆盖", "资源未到位"),
    "line_fault": ("主干光缆中断，已转线路班", "楼道分纤箱故障"),
    "property_access": ("物业不让进弱电井", "物业不允许穿墙布线"),
    "missing_material": ("缺千兆光猫，已申领", "皮线光缆不够"),
    "needs_escalation": ("需技术支撑远程配置", "疑似局端问题，已升级"),
    "needs_second_visit": ("布线未完成，约明天继续", "需带梯子再次上门"),
    "weather": ("暴雨无法登高作业",),
    "customer_device": ("用户自购路由器故障",),
    "other": ("其他原因",),
}
FAULT_CAUSES = (("onu", 30), ("drop_fibre", 20), ("connector", 18), ("config", 14), ("customer_device", 8),
                ("outside_plant", 6), ("other", 4))
ONU_VENDORS = ("ZTEG", "HWTC", "FHTT", "CIOT")
ORDER_NOTES = ("客户要求上门前电话联系", "小区需登记入门", "老人在家，请耐心讲解", "光猫指示灯红色闪烁",
               "晚上七点后在家", "楼道弱电井钥匙在物业", "客户反映晚上网速慢", "需更换千兆光猫",
               "电视机顶盒无信号", "家里有狗，敲门前请先电话")
CANCEL_REASONS = ("用户撤单", "重复受理", "用户已办理其他运营商业务", "用户改为营业厅自助办理")
COMMENTS_GOOD = ("师傅很专业，速度快", "准时上门，态度很好", "网速正常了，谢谢师傅", "布线整齐，还帮忙收拾干净",
                 "耐心讲解光猫和WiFi的使用", "穿鞋套进门，很规范", "提前打电话联系，很贴心")
COMMENTS_MIDDLE = ("还可以，就是等了挺久", "修好了，但来了两次", "师傅有点赶时间")
COMMENTS_BAD = ("迟到了也没提前打电话", "来了两次才修好", "态度一般，问问题不耐烦", "修完网速还是慢",
                "布线乱，没有收拾")

# --- Training (DOMAIN §2.6) -------------------------------------------------------------------

# code, 中文, English, hours, certification type granted/renewed, level granted
COURSES = (
    ("SVC-01", "装维服务规范与礼仪", "Service standards & etiquette", 8, "service_star", None),
    ("SAF-01", "安全生产(登高、用电、交通)", "Safety (height, electrical, road)", 8, "work_at_height", None),
    ("FTTH-01", "FTTH入户光缆施工(蝶形光缆布放)", "FTTH drop-cable installation (butterfly drop)", 16, "ftth", None),
    ("FTTH-02", "光纤熔接与冷接", "Fibre fusion splicing & mechanical (cold) connectors", 16, None, None),
    ("FTTH-03", "光功率计/红光笔/OTDR使用", "Optical power meter / VFL / OTDR", 8, None, None),
    ("ONU-01", "光猫(天翼网关)配置与开通", "ONU/home-gateway provisioning", 8, None, None),
    ("NET-01", "家庭组网与全屋WiFi/FTTR", "Home networking, mesh Wi-Fi, FTTR", 12, "skill_level", 3),
    ("IPTV-01", "IPTV(天翼高清)安装调试", "IPTV set-up & troubleshooting", 4, None, None),
    ("FLT-01", "宽带故障诊断与排查", "Broadband fault diagnosis", 12, None, None),
    ("APP-01", "移动装维APP与工单规范", "Mobile app & work-order discipline", 2, None, None),
    ("CX-01", "投诉处理与沟通技巧", "Complaint handling & communication", 4, None, None),
)
TRAINING_PLACES = ("武汉分公司培训中心(洪山区珞喻路)", "光谷装维实训基地", "汉口装维实训基地(江岸区)",
                   "汉阳区分公司三楼培训室", "武昌区分公司培训室")
SESSION_PERIOD_DAYS = (14, 28)  # each course sits every two weeks; monthly for small branches
SESSION_CAPACITY = 40
TRAINING_HISTORY_DAYS = 400  # sessions (and the certificates they granted) this far back are kept

COMMIT_EVERY_DAYS = 7  # SQLite: commit this often while writing orders
CUSTOMER_BATCH = 20_000


def _cum(weights: Any) -> list[float]:
    return list(accumulate(weights))


def _pick(rng_random: Callable[[], float], cum: list[float]) -> int:
    """An index drawn with the cumulative weights `cum`."""
    return bisect(cum, rng_random() * cum[-1])


def _poisson_cum(mean: float) -> list[float]:
    weights = [math.exp(-mean) * mean**k / math.factorial(k) if JOBS_MIN <= k <= JOBS_MAX else 0.0
               for k in range(JOBS_MAX + 1)]
    return _cum(weights)


def _clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


# --- Writing rows ----------------------------------------------------------------------------

class _Bulk:
    """Rows of the big tables, written a day at a time: COPY on PostgreSQL, executemany on SQLite.

    Rows are tuples in the column order of `COLUMNS`; timestamps are already strings in the
    backend's own format (`ts`), JSON already serialised, enums their `.value`."""

    COLUMNS: dict[str, tuple[str, ...]] = {
        "customers": ("id", "account_no", "name", "phone", "address", "district_id", "created_at"),
        "work_orders": ("id", "number", "external_ref", "job_type_id", "priority", "customer_id", "district_id",
                        "address", "team_id", "assignee_id", "status", "is_work_at_height", "notes",
                        "appointment_start", "appointment_end", "created_at", "updated_at", "due_by", "completed_at",
                        "completed_by_id", "cancelled_at", "cancel_reason", "evidence", "version", "visit_count"),
        "visits": ("id", "work_order_id", "seq", "installer_id", "arrived_at", "left_at", "outcome", "reason_code",
                   "appointment_start", "appointment_end", "lat", "lon"),
        "work_order_events": ("id", "work_order_id", "actor_id", "created_at", "action", "from_status", "to_status",
                              "note", "lat", "lon", "data"),
        "survey_invitations": ("id", "work_order_id", "token_hash", "created_at", "expires_at", "used_at"),
        "survey_responses": ("id", "invitation_id", "work_order_id", "installer_id", "score", "punctuality",
                             "professionalism", "result", "comment", "submitted_at"),
    }
    # Parents before children: SQLite checks foreign keys row by row.
    ORDER = ("customers", "work_orders", "visits", "work_order_events", "survey_invitations", "survey_responses")

    def __init__(self, first_day: date, last_day: date) -> None:
        self.connection = db.session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.ORDER}
        self.counts: dict[str, int] = {name: 0 for name in self.ORDER}
        # Timestamp strings from two lookups: the UTC day's "YYYY-MM-DD " and the second of the day.
        suffix = "+00" if self.postgres else ".000000"  # SQLite: SQLAlchemy's own storage format
        self._days_base = first_day.toordinal() - date(1970, 1, 1).toordinal() - 3
        span = (last_day - first_day).days + 12
        self._days = [(date(1970, 1, 1) + timedelta(days=self._days_base + i)).isoformat() + " " for i in range(span)]
        self._clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)]
        self._suffix = suffix
        self._writer: _CopyWriter | None = None

    def ts(self, epoch: int) -> str:
        """`epoch` (UTC seconds) as the backend stores a UTCDateTime."""
        day, second = divmod(epoch, 86400)
        index = day - self._days_base
        if 0 <= index < len(self._days):
            return self._days[index] + self._clock[second]
        moment = datetime.fromtimestamp(epoch, UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S") + self._suffix

    def start(self) -> None:
        """On PostgreSQL, start the writer thread that feeds COPY while the next rows are made."""
        if self.postgres:
            self._writer = _CopyWriter(self.connection.connection.dbapi_connection)
            self._writer.start()

    def flush(self) -> None:
        """Send the rows gathered so far."""
        for name in self.ORDER:
            rows = self.rows[name]
            if not rows:
                continue
            self.counts[name] += len(rows)
            columns = self.COLUMNS[name]
            if self.postgres:
                assert self._writer is not None
                self._writer.put(name, columns, _copy_text(rows))
            else:
                placeholders = ", ".join("?" * len(columns))
                self.connection.exec_driver_sql(
                    f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({placeholders})", rows)
            self.rows[name] = []

    def finish(self) -> None:
        """Send the last rows and wait until they are written."""
        self.flush()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    def abort(self) -> None:
        """Stop writing (rows still queued are dropped) and wait for the writer to let go."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.abort()


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    """Rows in COPY's text format. Our strings carry no tab, newline or backslash."""
    return "".join(["\t".join(["\\N" if v is None else str(v) for v in row]) + "\n" for row in rows])


class _CopyWriter(threading.Thread):
    """Runs COPY … FROM STDIN for the chunks it is handed, on the seeding transaction's connection.
    The main thread makes rows meanwhile (socket writes release the GIL); it never touches the
    connection until `close` has joined this thread."""

    def __init__(self, dbapi_connection: Any) -> None:
        super().__init__(name="demo-copy-writer", daemon=True)
        self.dbapi_connection = dbapi_connection
        self.chunks: queue.Queue[tuple[str, tuple[str, ...], str] | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None

    def put(self, table: str, columns: tuple[str, ...], text: str) -> None:
        if self.error is not None:
            raise RuntimeError("writing demo rows failed") from self.error
        self.chunks.put((table, columns, text))

    def run(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            if self.error is not None:
                continue  # drain, so the producer never blocks on a dead writer
            table, columns, text = chunk
            try:
                with self.dbapi_connection.cursor() as cursor:
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        copy.write(text)
            except BaseException as error:  # handed to the main thread in put/close
                self.error = error

    def close(self) -> None:
        self.chunks.put(None)
        self.join()
        if self.error is not None:
            raise RuntimeError("writing demo rows failed") from self.error

    def abort(self) -> None:
        self.error = self.error or RuntimeError("aborted")
        self.chunks.put(None)
        self.join()


# The big tables' foreign keys and secondary indexes are dropped for the load and rebuilt after
# it, inside the same transaction: checking a foreign key row by row costs PostgreSQL three times
# the COPY itself, while re-adding it is one join. Their definitions are read from the catalog, so
# the schema comes back exactly as the migrations made it (and a failure rolls it all back).
_BULK_TABLES = ("work_orders", "visits", "work_order_events", "survey_invitations", "survey_responses")


def _pg_drop_bulk_constraints(connection: Any) -> list[str]:
    """Drop the bulk tables' foreign keys, unique constraints and secondary indexes; returns the
    statements that put them back."""
    tables = list(_BULK_TABLES)
    constraints = connection.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.conrelid = ANY(%(tables)s::regclass[]) AND c.contype IN ('f', 'u') "
        "ORDER BY c.contype, c.conrelid::regclass::text, c.conname", {"tables": tables}).all()
    indexes = connection.exec_driver_sql(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%(tables)s::regclass[]) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY 1", {"tables": tables}).all()
    restore: list[str] = []
    for table, name, _kind, _definition in constraints:  # foreign keys ('f') sort first
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, definition in indexes:
        connection.exec_driver_sql(f'DROP INDEX {name}')
        restore.append(definition)
    unique = [(t, n, d) for t, n, k, d in constraints if k == "u"]
    foreign = [(t, n, d) for t, n, k, d in constraints if k == "f"]
    restore += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in unique + foreign]
    return restore


def _pg_reset_sequences(connection: Any, tables: list[str]) -> None:
    for table in tables:
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)")


# --- The organisation --------------------------------------------------------------------------

@dataclass
class _Team:
    index: int
    id: int
    code: str
    home: str
    districts: list[tuple[str, float]]  # (district code, share of the team's work)
    supervisor_id: int = 0
    installers: list[_Installer] = field(default_factory=list)


@dataclass
class _Installer:
    """An installer as the generator sees them: identity, latent skill and derived rates."""

    id: int
    username: str
    team: _Team
    skill: float
    is_active: bool
    hired_day: int  # local day numbers (days since 1970-01-01)
    last_day: int  # no jobs after this day (left the company, or the service certificate lapsed)
    rest_offset: int
    has_ftth: bool = True
    has_skill3: bool = False
    has_height: bool = False
    star: int = 0
    # derived rates, set by _Orders
    type_cum: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    reason_cum: list[float] = field(default_factory=list)
    district_cum: list[float] = field(default_factory=list)


def _allocate(seats: int, weights: list[float], minimum: int) -> list[int]:
    """Seats per weight by Sainte-Laguë (deterministic; ties go to the earlier entry)."""
    counts = [minimum] * len(weights)
    for _ in range(seats - minimum * len(weights)):
        best = max(range(len(weights)), key=lambda i: (weights[i] / (2 * counts[i] + 1), -i))
        counts[best] += 1
    return counts


def _name(rng: Random, female: bool = False) -> tuple[str, str]:
    surname, surname_en = SURNAMES[int(rng.random() * len(SURNAMES))]
    pool = GIVEN_FEMALE if female else GIVEN_MALE
    first, first_en = pool[int(rng.random() * len(pool))]
    if rng.random() < 0.55:
        second, second_en = pool[int(rng.random() * len(pool))]
        return surname + first + second, f"{surname_en} {first_en}{second_en.lower()}"
    return surname + first, f"{surname_en} {first_en}"


def _phone(rng: Random, prefixes: tuple[str, ...]) -> str:
    return prefixes[int(rng.random() * len(prefixes))] + f"{rng.randrange(10**8):08d}"


# --- Entry points -----------------------------------------------------------------------------

def seed_demo(installers: int = 120, days: int = 90, seed: int = 2026, echo: Callable[[str], Any] = print,
              today: date | None = None) -> dict[str, int]:
    """Fill an empty database with `days` days of realistic demo data ending `today`; commits;
    returns the rows written per table."""
    started = wallclock.monotonic()
    tz = zone()
    today = today or local_today(tz)
    generator = _Seeder(installers=installers, days=days, rng=Random(seed), today=today, tz=tz, echo=echo)
    counts = generator.run()
    echo(f"demo data ready in {wallclock.monotonic() - started:.0f} s")
    return counts


def demo_sign_ins() -> list[tuple[str, str, str]]:
    """(role, username, display name) of the admin, an installer with jobs today (in mixed states)
    and the supervisor of that installer's team, read from the database."""
    tz = zone()
    start, end = (datetime.combine(local_today(tz) + timedelta(days=n), time.min, tzinfo=tz) for n in (0, 1))
    today_orders = (WorkOrder.status != OrderStatus.CANCELLED) & (
        ((WorkOrder.appointment_start >= start) & (WorkOrder.appointment_start < end))
        | ((WorkOrder.completed_at >= start) & (WorkOrder.completed_at < end)))
    jobs = func.count(WorkOrder.id)
    states = func.count(WorkOrder.status.distinct())
    candidates = (
        select(User, jobs, states).join(WorkOrder, WorkOrder.assignee_id == User.id)
        .where(today_orders, User.role == Role.INSTALLER, User.is_active.is_(True))
        .group_by(User.id)
    )
    row = db.session.execute(
        candidates.having(jobs.between(4, 7)).order_by(states.desc(), jobs.desc(), User.username).limit(1)
    ).first() or db.session.execute(candidates.order_by(jobs.desc(), User.username).limit(1)).first()
    installer = row[0] if row else db.session.scalar(
        select(User).where(User.role == Role.INSTALLER, User.is_active.is_(True)).order_by(User.username).limit(1))
    supervisor = None
    if installer is not None and installer.team_id is not None:
        supervisor = db.session.scalar(
            select(User).join(team_supervisors, team_supervisors.c.user_id == User.id)
            .where(team_supervisors.c.team_id == installer.team_id, User.is_active.is_(True))
            .order_by(User.username).limit(1))
    if supervisor is None:
        supervisor = db.session.scalar(
            select(User).where(User.role == Role.SUPERVISOR).order_by(User.username).limit(1))
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    sign_ins = []
    for role, user in (("admin", admin), ("supervisor", supervisor), ("installer", installer)):
        if user is not None:
            label = f"{user.name} ({user.name_en})" if user.name_en and user.name_en != user.name else user.name
            sign_ins.append((role, user.username, label))
    return sign_ins


# --- The seeder ---------------------------------------------------------------------------------

class _Seeder:
    """Builds the organisation, certificates, training, customers and orders, in that order."""

    def __init__(self, *, installers: int, days: int, rng: Random, today: date, tz: Any,
                 echo: Callable[[str], Any]) -> None:
        self.n_installers = installers
        self.rng = rng
        self.today = today
        self.tz = tz
        self.echo = echo
        self.now = datetime.combine(today, DEMO_CLOCK, tzinfo=tz)
        # Local day arithmetic on epoch seconds with the zone's offset at the demo clock (exact for
        # zones without daylight saving, such as the default Asia/Shanghai).
        offset = self.now.utcoffset()
        self.offset = int(offset.total_seconds()) if offset else 0
        self.vnow = int(self.now.timestamp())
        self.today_n = today.toordinal() - date(1970, 1, 1).toordinal()
        self.first_n = self.today_n - days + 1
        self.counts: dict[str, int] = {}
        self.teams: list[_Team] = []
        self.installers: list[_Installer] = []
        self.admin_id = 1

    def run(self) -> dict[str, int]:
        ensure_reference_data()
        db.session.commit()
        self.ids = _Ids()
        self.reference()
        self.password_hash = _demo_password_hash()
        self.organisation()
        self.certificates_and_training()
        db.session.commit()
        self.echo(f"  {len(self.teams)} teams, {len(self.installers)} installers, "
                  f"{self.counts['certifications']} certificates, {self.counts['training_records']} training records")
        orders = _Orders(self)
        orders.run()
        return self.counts

    def day_date(self, n: int) -> date:
        return date.fromordinal(n + date(1970, 1, 1).toordinal())

    def local_datetime(self, n: int, seconds: float) -> datetime:
        """Local day number `n` plus `seconds`, as an aware UTC datetime."""
        return datetime.fromtimestamp(n * 86400 - self.offset + int(seconds), UTC)

    # -- reference ids

    def reference(self) -> None:
        rows = db.session.execute(select(District.code, District.id, District.is_central, District.name_zh,
                                         District.name_en)).all()
        self.district_ids = {code: id_ for code, id_, *_rest in rows}
        self.district_central = {code: central for code, _id, central, *_rest in rows}
        self.district_names = {code: (zh, en) for code, _id, _central, zh, en in rows}
        self.district_codes = [code for code in DISTRICT_INFO if code in self.district_ids]
        self.job_types = {jt.code: jt for jt in db.session.scalars(select(JobType))}
        self.cert_types = {ct.code: ct for ct in db.session.scalars(select(CertificationType))}

    # -- teams and people

    def organisation(self) -> None:
        rng, codes = self.rng, self.district_codes
        shares = [float(DISTRICT_INFO[c].installers) for c in codes]
        n_teams = max(1, round(self.n_installers / 12))
        if self.n_installers >= 8 * len(codes):
            n_teams = max(n_teams, len(codes))
        per_district = _allocate(n_teams, shares, 1 if n_teams >= len(codes) else 0)
        # Districts without a team of their own are served by the nearest district's teams.
        covered = {c for c, n in zip(codes, per_district, strict=True) if n}
        adopted: dict[str, list[str]] = {c: [] for c in codes}
        for code in codes:
            if code not in covered:
                adopted[self._nearest_covered(code, covered)].append(code)

        # A team's districts are weighted by the work they bring it: its share of the home
        # district, the whole of a district it adopted, a little of a neighbour's.
        team_rows, link_rows = [], []
        for code, count in zip(codes, per_district, strict=True):
            info = DISTRICT_INFO[code]
            home_load = info.installers / count if count else 0.0
            extras = adopted[code]
            for i in range(count):
                area_zh, area_en = info.areas[i % len(info.areas)]
                crew = i // len(info.areas)
                districts = [(code, home_load)]
                districts += [(e, float(DISTRICT_INFO[e].installers)) for k, e in enumerate(extras) if k % count == i]
                neighbour = info.neighbours[0]
                if rng.random() < 0.2 and all(d != neighbour for d, _ in districts):
                    districts.append((neighbour, 0.1 * home_load))
                team = _Team(index=len(self.teams), id=self.ids.next("teams"), code=f"{info.abbr}{i + 1:02d}",
                             home=code, districts=districts)
                self.teams.append(team)
                team_rows.append({"id": team.id, "code": team.code, "home_district_id": self.district_ids[code],
                                  "name_zh": f"{info.short_zh}{area_zh}装维{_CN_NUMERALS[crew % 10]}班",
                                  "name_en": f"{self.district_names[code][1]} {area_en} Crew {crew + 1}",
                                  "is_active": True})
                link_rows += [{"team_id": team.id, "district_id": self.district_ids[d]} for d, _ in districts]

        # Installers per team in proportion to that work.
        weights = [sum(w for _d, w in team.districts) for team in self.teams]
        sizes = _allocate(self.n_installers, weights, 1 if self.n_installers >= len(self.teams) else 0)

        user_rows: list[dict[str, Any]] = [{
            "id": self.ids.next("users"), "username": "admin", "name": "系统管理员", "name_en": "Administrator",
            "phone": None, "role": Role.ADMIN.value, "employer_type": EmployerType.STAFF.value, "team_id": None,
            "is_active": True, "password_hash": self.password_hash,
            "created_at": self.local_datetime(self.first_n - 400, 9 * 3600)}]
        supervisor_rows = []
        for team in self.teams:
            name, name_en = _name(rng, female=rng.random() < 0.2)
            team.supervisor_id = self.ids.next("users")
            user_rows.append({
                "id": team.supervisor_id, "username": f"s{team.index + 1:04d}", "name": name, "name_en": name_en,
                "phone": _phone(rng, TELECOM_PREFIXES), "role": Role.SUPERVISOR.value,
                "employer_type": EmployerType.STAFF.value, "team_id": None, "is_active": True,
                "password_hash": self.password_hash,
                "created_at": self.local_datetime(self.first_n - rng.randint(200, 3000), 9 * 3600)})
            supervisor_rows.append({"team_id": team.id, "user_id": team.supervisor_id})

        number = 10000
        team_effects = [rng.gauss(0, 1) for _ in self.teams]
        for team, size in zip(self.teams, sizes, strict=True):
            for _ in range(size):
                number += 1
                user_id = self.ids.next("users")
                skill = 0.5 * team_effects[team.index] + 0.866 * rng.gauss(0, 1)
                is_active = rng.random() >= 0.02
                hired = self.first_n - rng.randint(30, 2500)
                last_day = self.today_n + 10
                if not is_active:
                    last_day = self.today_n - rng.randint(8, 120)
                installer = _Installer(id=user_id, username=f"w{number}", team=team, skill=skill,
                                       is_active=is_active, hired_day=hired, last_day=last_day,
                                       rest_offset=int(rng.random() * 7))
                team.installers.append(installer)
                self.installers.append(installer)
                name, name_en = _name(rng, female=rng.random() < 0.05)
                user_rows.append({
                    "id": user_id, "username": installer.username, "name": name, "name_en": name_en,
                    "phone": _phone(rng, TELECOM_PREFIXES), "role": Role.INSTALLER.value,
                    "employer_type": (EmployerType.CONTRACTOR if rng.random() < 0.35 else EmployerType.STAFF).value,
                    "team_id": team.id, "is_active": is_active, "password_hash": self.password_hash,
                    "created_at": self.local_datetime(hired, 9 * 3600)})
        self.user_rows = user_rows  # hire dates may move (new hires) before they are written
        self._insert(Team.__table__, team_rows)
        self.team_district_rows = link_rows
        self.supervisor_rows = supervisor_rows

    def _nearest_covered(self, code: str, covered: set[str]) -> str:
        frontier, seen = [code], {code}
        while frontier:
            following = []
            for current in frontier:
                for neighbour in DISTRICT_INFO[current].neighbours:
                    if neighbour in covered:
                        return neighbour
                    if neighbour not in seen:
                        seen.add(neighbour)
                        following.append(neighbour)
            frontier = following
        return next(c for c in self.district_codes if c in covered)

    # -- certificates and training

    def certificates_and_training(self) -> None:
        """Every installer's certificates (DOMAIN §2.4–2.5), most through the courses that grant
        them, with history rows, a spread of expiry, a few lapsed, missing and revoked."""
        training = _Training(self)
        rng, today = self.rng, self.today
        active = [i for i in self.installers if i.is_active]
        new_hires = {i.id for i in rng.sample(active, len(active) // 100)} if len(active) >= 20 else set()
        certs = _Certificates(self, training)
        height_holders: list[tuple[_Installer, dict[str, Any]]] = []

        for installer in self.installers:
            skill = installer.skill
            if installer.id in new_hires:  # joined this month: no certificate yet, booked on the courses
                hired = self.today_n - rng.randint(5, 25)
                installer.hired_day, installer.last_day = hired, hired - 1  # no jobs
                self.user_rows[installer.id - 1]["created_at"] = self.local_datetime(hired, 9 * 3600)
                for course in ("SVC-01", "FTTH-01", "SAF-01"):
                    training.enrol_upcoming(course, installer)
                continue

            # Service-standard certification: yearly, stars from skill; renewed through SVC-01.
            installer.star = star = int(_clip(round(3 + skill * 0.9 + rng.gauss(0, 0.6)), 1, 5))
            roll = rng.random()
            if roll < 0.02:  # lapsed: last year's renewal was missed, a resit failed
                row = certs.granted(installer, "SVC-01", "service_star",
                                    add_months(today - timedelta(days=rng.randint(5, 60)), -12), star, after=False)
                training.fail_recent("SVC-01", installer)
                training.enrol_upcoming("SVC-01", installer)
            else:
                expiring = roll < 0.07  # expiring within about a month
                age = rng.randint(338, 360) if expiring else rng.randint(3, 325)
                issued = today - timedelta(days=age)
                if rng.random() < 0.6:  # last year's certificate is kept too
                    previous = add_months(issued, -12) - timedelta(days=rng.randint(1, 20))
                    certs.granted(installer, "SVC-01", "service_star", previous, max(1, star - (rng.random() < 0.3)),
                                  after=False)
                row = certs.granted(installer, "SVC-01", "service_star", issued, star, after=True)
                if expiring:
                    training.enrol_upcoming("SVC-01", installer)
            if row["expires_on"] < today:  # no jobs once the service certificate lapsed
                installer.last_day = min(installer.last_day, self.day_number(row["expires_on"]))

            # Skill level: 5 (entry) → 1 (top), three years; level 3 through NET-01.
            level = int(_clip(3 - round(skill * 1.1 + rng.gauss(0, 0.5)), 1, 5))
            expired = rng.random() < 0.03
            issued = today - timedelta(days=rng.randint(1110, 1300) if expired else rng.randint(10, 1060))
            course = "NET-01" if level == 3 else None
            row = certs.granted(installer, course, "skill_level", issued, level, after=True)
            installer.has_skill3 = level <= 3 and row["expires_on"] >= today

            # FTTH installation: most installers, through FTTH-01.
            installer.has_ftth = rng.random() < 0.88
            if installer.has_ftth:
                certs.granted(installer, "FTTH-01", "ftth", today - timedelta(days=rng.randint(10, 1060)), after=True)
            else:
                training.enrol_upcoming("FTTH-01", installer)

            # Legal certificates: six years, reviewed every three; work at height through SAF-01.
            for code, share, course in (("work_at_height", 0.6, "SAF-01"), ("low_voltage_electrician", 0.3, None)):
                if rng.random() >= share:
                    continue
                roll = rng.random()
                age = (rng.randint(2200, 2400) if roll < 0.01  # expired
                       else rng.randint(1100, 1200) if roll < 0.04  # review due
                       else rng.randint(10, 1050))
                issued = today - timedelta(days=age)
                if rng.random() < 0.3:  # the certificate before this one
                    certs.granted(installer, None, code, add_months(issued, -72) - timedelta(days=rng.randint(1, 40)))
                row = certs.granted(installer, course, code, issued, after=True)
                usable = row["next_review_on"] is None or row["next_review_on"] > today
                if code == "work_at_height":
                    installer.has_height = usable and row["expires_on"] >= today
                    if installer.has_height and installer.is_active:
                        height_holders.append((installer, row))
            training.other_courses(installer)

        # A couple of work-at-height certificates revoked after a safety violation.
        for installer, row in rng.sample(height_holders, min(len(height_holders), max(2, len(active) // 400))):
            row["revoked_at"] = self.local_datetime(self.today_n - rng.randint(3, 60), 15 * 3600)
            row["revoked_reason"] = "高处作业未系安全带，被安监部门查处"
            row["revoked_by_id"] = self.admin_id
            installer.has_height = False

        certificate_rows = certs.rows_in_order()
        self._insert(User.__table__, self.user_rows)
        db.session.execute(insert(team_districts), self.team_district_rows)
        db.session.execute(insert(team_supervisors), self.supervisor_rows)
        self._insert(TrainingSession.__table__, training.session_rows)
        self._insert(TrainingRecord.__table__, training.record_rows)
        self._insert(Certification.__table__, certificate_rows)
        self.counts.update({"teams": len(self.teams), "users": len(self.user_rows),
                            "certifications": len(certificate_rows), "training_sessions": len(training.session_rows),
                            "training_records": len(training.record_rows)})

    def day_number(self, day: date) -> int:
        return day.toordinal() - date(1970, 1, 1).toordinal()

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(table), rows[start:start + 5000])


def _demo_password_hash() -> str:
    # One Argon2 hash shared by every demo user: hashing 1,000 passwords would take minutes, and
    # they all have the same demo password anyway. (The salt makes this the one column that
    # differs between two seeds with the same parameters.)
    from .auth.services import hash_password

    return hash_password(DEMO_PASSWORD)


class _Ids:
    """Primary keys counted here, so rows can be written in bulk without asking the database."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def next(self, table: str) -> int:
        value = self.last.get(table, 0) + 1
        self.last[table] = value
        return value


class _Certificates:
    """Certificate rows, dated as their type says (fieldsvc.certifications.services)."""

    NUMBER_PREFIX = {"service_star": "FW", "skill_level": "JN", "ftth": "FTTH", "work_at_height": "T",
                     "low_voltage_electrician": "T"}

    def __init__(self, seeder: _Seeder, training: _Training) -> None:
        self.seeder = seeder
        self.training = training
        self.rows: list[dict[str, Any]] = []

    def granted(self, installer: _Installer, course: str | None, code: str, target: date,
                level: int | None = None, *, after: bool = True) -> dict[str, Any]:
        """A certificate issued about `target`: through a passed sitting of `course` when that
        sitting falls within the training history (issued the day it ended), else on `target`."""
        seeder, rng = self.seeder, self.seeder.rng
        record, issued = (None, None)
        if course is not None:
            record, issued = self.training.passed(course, installer, target, after=after)
        issued = issued or target
        cert_type = seeder.cert_types[code]
        expires_on, next_review_on = certificate_dates(cert_type, issued)
        prefix = self.NUMBER_PREFIX.get(code, code[:2].upper())
        number = (f"T4201{rng.randrange(10**12):012d}" if prefix == "T"
                  else f"{prefix}{issued:%Y}{rng.randrange(10**6):06d}")
        row = {"id": 0, "user_id": installer.id, "certification_type_id": cert_type.id, "level": level,
               "number": number, "evidence": f"培训记录 {course} {issued:%Y-%m-%d}" if record else None,
               "issued_on": issued, "expires_on": expires_on, "next_review_on": next_review_on,
               "training_record_id": record,
               "created_at": datetime.combine(issued, time(17, 30), tzinfo=seeder.tz).astimezone(UTC),
               "revoked_at": None, "revoked_reason": None, "revoked_by_id": None}
        self.rows.append(row)
        return row

    def rows_in_order(self) -> list[dict[str, Any]]:
        """The rows by holder, type and date, numbered."""
        self.rows.sort(key=lambda r: (r["user_id"], r["certification_type_id"], r["issued_on"]))
        for row in self.rows:
            row["id"] = self.seeder.ids.next("certifications")
        return self.rows


# --- Training ----------------------------------------------------------------------------------

class _Training:
    """Courses, sessions (created when someone needs one) and records."""

    def __init__(self, seeder: _Seeder) -> None:
        self.seeder = seeder
        self.rng = seeder.rng
        self.today = seeder.today
        types = seeder.cert_types
        self.courses: dict[str, int] = {}
        rows = []
        for code, zh, en, hours, grants, level in COURSES:
            course_id = seeder.ids.next("training_courses")
            self.courses[code] = course_id
            rows.append({"id": course_id, "code": code, "name_zh": zh, "name_en": en, "hours": hours,
                         "pass_mark": 60, "grants_certification_type_id": types[grants].id if grants else None,
                         "grants_level": level, "is_active": True})
        seeder._insert(TrainingCourse.__table__, rows)
        seeder.counts["training_courses"] = len(rows)
        self.hours = {code: hours for code, _zh, _en, hours, _g, _l in COURSES}
        self.period = SESSION_PERIOD_DAYS[0] if len(seeder.installers) >= 500 else SESSION_PERIOD_DAYS[1]
        self.offsets = {code: i * 3 % self.period for i, (code, *_rest) in enumerate(COURSES)}
        self.sessions: dict[tuple[str, date, int], dict[str, Any]] = {}
        self.members: dict[int, set[int]] = {}
        self.session_rows: list[dict[str, Any]] = []
        self.record_rows: list[dict[str, Any]] = []

    def _session_day(self, course: str, near: date, upcoming: bool) -> date:
        """The course's session day on or before `near` (past), or on or after it (upcoming)."""
        shift = (near.toordinal() - self.offsets[course]) % self.period
        if upcoming:
            day = near + timedelta(days=(self.period - shift) % self.period)
        else:
            day = near - timedelta(days=shift)
        while day.weekday() == 6:  # no training on Sundays
            day += timedelta(days=1) if upcoming else -timedelta(days=1)
        return day

    def _session(self, course: str, day: date, user_id: int) -> dict[str, Any]:
        slot = 0
        while True:
            key = (course, day, slot)
            session = self.sessions.get(key)
            if session is None:
                session = self._new_session(course, day, slot)
                self.sessions[key] = session
            members = self.members[session["id"]]
            if user_id not in members and len(members) < SESSION_CAPACITY:
                members.add(user_id)
                return session
            slot += 1

    def _new_session(self, course: str, day: date, slot: int) -> dict[str, Any]:
        tz = self.seeder.tz
        hours = self.hours[course]
        starts = datetime.combine(day, time(9 if hours > 2 else 14), tzinfo=tz)
        if hours <= 4:
            ends = starts + timedelta(hours=hours)
        else:  # eight-hour days with an hour for lunch
            full_days, rest = divmod(hours, 8)
            ends = starts + timedelta(days=full_days - (rest == 0), hours=(rest or 8) + 1)
        name, _en = _name(self.rng, female=self.rng.random() < 0.3)
        session = {"id": self.seeder.ids.next("training_sessions"), "course_id": self.courses[course],
                   "starts_at": starts.astimezone(UTC), "ends_at": ends.astimezone(UTC),
                   "place": TRAINING_PLACES[(slot + self.offsets[course]) % len(TRAINING_PLACES)],
                   "trainer": f"{name}(内训师)", "capacity": SESSION_CAPACITY}
        self.members[session["id"]] = set()
        self.session_rows.append(session)
        return session

    def _record(self, session: dict[str, Any], installer: _Installer, result: TrainingResult,
                score: int | None, attended: bool | None) -> int:
        record_id = self.seeder.ids.next("training_records")
        enrolled = session["starts_at"] - timedelta(days=self.rng.randint(7, 30), hours=self.rng.randint(0, 8))
        self.record_rows.append({"id": record_id, "session_id": session["id"], "user_id": installer.id,
                                 "enrolled_at": enrolled, "attended": attended, "score": score,
                                 "result": result.value})
        return record_id

    def passed(self, course: str, installer: _Installer, target: date, *,
               after: bool = True) -> tuple[int | None, date | None]:
        """A passed record in the course's sitting nearest `target` (the first on or after it, or
        the last on or before it), if that sitting is past and within the training history;
        returns (record id, the local date the sitting ended)."""
        day = self._session_day(course, target, upcoming=after)
        if day >= self.today - timedelta(days=2):
            day = self._session_day(course, self.today - timedelta(days=3), upcoming=False)
        if (self.today - day).days > TRAINING_HISTORY_DAYS:
            return None, None
        session = self._session(course, day, installer.id)
        score = int(_clip(round(self.rng.gauss(82 + 4 * installer.skill, 7)), 60, 100))
        record = self._record(session, installer, TrainingResult.PASSED, score, True)
        return record, session["ends_at"].astimezone(self.seeder.tz).date()

    def fail_recent(self, course: str, installer: _Installer) -> None:
        day = self._session_day(course, self.today - timedelta(days=self.rng.randint(10, 60)), upcoming=False)
        session = self._session(course, day, installer.id)
        self._record(session, installer, TrainingResult.FAILED, self.rng.randint(35, 59), True)

    def enrol_upcoming(self, course: str, installer: _Installer) -> None:
        near = self.today + timedelta(days=self.rng.randint(3, 55))
        session = self._session(course, self._session_day(course, near, upcoming=True), installer.id)
        self._record(session, installer, TrainingResult.ENROLLED, None, None)

    def other_courses(self, installer: _Installer) -> None:
        """A few courses that grant nothing: most passed, some failed or missed, some upcoming."""
        rng = self.rng
        optional = [c for c, *_rest, grants, _level in COURSES if grants is None]
        for course in rng.sample(optional, rng.randint(1, 3)):
            if rng.random() < 0.15:
                self.enrol_upcoming(course, installer)
                continue
            day = self._session_day(course, self.today - timedelta(days=rng.randint(7, 360)), upcoming=False)
            session = self._session(course, day, installer.id)
            roll = rng.random()
            if roll < 0.03:
                self._record(session, installer, TrainingResult.ABSENT, None, False)
            else:
                score = int(_clip(round(rng.gauss(80 + 5 * installer.skill, 10)), 20, 100))
                result = TrainingResult.PASSED if score >= 60 else TrainingResult.FAILED
                self._record(session, installer, result, score, True)


# --- Work orders ---------------------------------------------------------------------------------

class _Orders:
    """`days` days of work orders, a day at a time, with visits, events, invitations and ratings."""

    def __init__(self, seeder: _Seeder) -> None:
        self.s = seeder
        self.rng = seeder.rng
        self.bulk = _Bulk(seeder.day_date(seeder.first_n - 10), seeder.day_date(seeder.today_n + 10))
        # The rules the lifecycle applies when an installer completes a job (PRODUCT.md §4).
        self.link_seconds = int(setting("survey_link_days", seeder.today)) * 86400
        low, high = setting("rx_power_band_dbm", seeder.today)
        self.rx_band = (float(low), float(high))
        self.job_codes = [c for c in JOB_MIX if c in seeder.job_types]
        codes = seeder.district_codes
        self.district_index = {c: i for i, c in enumerate(codes)}
        self.district_id = [seeder.district_ids[c] for c in codes]
        self.outer = [not seeder.district_central[c] for c in codes]
        self.centre = [DISTRICT_INFO[c].centre for c in codes]
        self.jobs_cum = {wd: _poisson_cum(mean) for wd, mean in JOBS_PER_DAY.items()}
        self.window_cum = _cum(WINDOW_WEIGHTS)
        self.creation = [self._creation_table(start) for start in WINDOWS]
        self.daytime_cum = _cum([w if 8 <= h <= 21 else 0 for h, w in enumerate(HOURLY)])
        self.reasons = list(REASONS)
        self.fault_cum = _cum(w for _c, w in FAULT_CAUSES)
        self.pending: dict[int, list[tuple[int, int]]] = {}  # day → [(customer id, district index)]
        self.prepare_installers()

    # -- set-up

    @staticmethod
    def _creation_table(start_hour: int) -> tuple[list[int], list[float]]:
        """When orders for a window starting at `start_hour` were created: hours relative to the
        appointment day's midnight (yesterday's count less before the 16:00 cut-off: those were
        mostly served yesterday), at least two hours before the window."""
        hours = list(range(-24, start_hour - 2))
        weights = [HOURLY[h + 24] * (1.0 if h + 24 >= 16 else 0.12) if h < 0 else HOURLY[h] for h in hours]
        return hours, _cum(weights)

    def prepare_installers(self) -> None:
        mix = [JOB_MIX[c][0] for c in self.job_codes]
        weekend = [w * (WEEKEND_INSTALL_BOOST if c == "install" else 1.0) for c, w in zip(self.job_codes, mix, strict=True)]
        reason_weights = [REASONS[r][0] for r in self.reasons]
        for installer in self.s.installers:
            allowed = [not ((c in ("install", "relocation") and not installer.has_ftth)
                            or (c == "smart_home" and not installer.has_skill3)) for c in self.job_codes]
            installer.type_cum = (_cum(w * a for w, a in zip(mix, allowed, strict=True)),
                                  _cum(w * a for w, a in zip(weekend, allowed, strict=True)))
            fault = _clip(1 - 0.35 * installer.skill, 0.3, 2.0)
            installer.reason_cum = _cum(w * (fault if r in INSTALLER_FAULT_REASONS else 1.0)
                                        for r, w in zip(self.reasons, reason_weights, strict=True))
            installer.district_cum = _cum(w for _d, w in installer.team.districts)
        # Who can take a repeat repair in each district.
        self.by_district: list[list[_Installer]] = [[] for _ in self.district_id]
        for installer in self.s.installers:
            for code, _w in installer.team.districts:
                self.by_district[self.district_index[code]].append(installer)

    def customers(self) -> None:
        """Enough accounts per district that an account sees at most about one order a month by
        chance, so repeat repairs are the ones generated on purpose."""
        s, rng = self.s, self.rng
        daily = [0.0] * len(self.district_id)
        for team in s.teams:
            total = sum(w for _d, w in team.districts)
            for code, w in team.districts:
                daily[self.district_index[code]] += len(team.installers) * 4.8 * w / total
        self.pool_start: list[int] = []
        self.pool_size: list[int] = []
        self.addresses: list[str] = [""]  # by customer id
        bulk = self.bulk
        rows = bulk.rows["customers"]
        next_id = 1
        for index, code in enumerate(s.district_codes):
            size = int(daily[index] * 60) + 50
            self.pool_start.append(next_id)
            self.pool_size.append(size)
            info = DISTRICT_INFO[code]
            district_name = s.district_names[code][0]
            for _ in range(size):
                female = rng.random() < 0.5
                name, _en = _name(rng, female)
                road = info.roads[int(rng.random() * len(info.roads))]
                estate = ESTATES[int(rng.random() * len(ESTATES))]
                address = (f"武汉市{district_name}{road}{rng.randint(1, 888)}号{estate}"
                           f"{rng.randint(1, 36)}栋{rng.randint(1, 4)}单元{rng.randint(1, 33)}{rng.randint(1, 6):02d}室")
                self.addresses.append(address)
                created = (s.first_n - rng.randint(1, 3000)) * 86400 - s.offset + rng.randint(8 * 3600, 20 * 3600)
                rows.append((next_id, f"027{index + 1:02d}{next_id:08d}", name, _phone(rng, MOBILE_PREFIXES), address,
                             self.district_id[index], bulk.ts(created)))
                next_id += 1
                if len(rows) >= CUSTOMER_BATCH:
                    bulk.flush()
                    rows = bulk.rows["customers"]
        self.last_used = array("i", [-(10**6)]) * next_id
        bulk.flush()

    # -- the loop

    def run(self) -> None:
        s, bulk = self.s, self.bulk
        connection = bulk.connection
        restore: list[str] = []
        if bulk.postgres:
            without_statement_timeout(connection)  # one transaction of COPYs, then index rebuilds
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            restore = _pg_drop_bulk_constraints(connection)
        started = wallclock.monotonic()
        last_report = started
        self.ids = {name: 0 for name in _Bulk.ORDER}
        last = s.today_n + 4  # a few days ahead: appointments already booked by now
        bulk.start()
        try:
            self.customers()
            for day in range(s.first_n, last + 1):
                self.day(day)
                bulk.flush()
                if not bulk.postgres and (day - s.first_n) % COMMIT_EVERY_DAYS == COMMIT_EVERY_DAYS - 1:
                    db.session.commit()
                    bulk.connection = db.session.connection()
                if wallclock.monotonic() - last_report > 30:
                    last_report = wallclock.monotonic()
                    s.echo(f"  … {s.day_date(day)}: {bulk.counts['work_orders']:,} work orders "
                           f"({last_report - started:.0f} s)")
            bulk.finish()
        except BaseException:
            bulk.abort()  # the connection is the caller's again before the error goes up
            raise
        if bulk.postgres:
            s.echo(f"  rows written ({wallclock.monotonic() - started:.0f} s); rebuilding indexes and keys")
            for statement in restore:
                connection.exec_driver_sql(statement)
            _pg_reset_sequences(connection, [
                "teams", "users", "training_courses", "training_sessions", "training_records", "certifications",
                *_Bulk.ORDER])
        db.session.commit()
        if bulk.postgres:
            connection = db.session.connection()
            without_statement_timeout(connection)
            connection.exec_driver_sql("ANALYZE")
            db.session.commit()
        s.counts.update({name: bulk.counts[name] for name in _Bulk.ORDER})

    def day(self, day: int) -> None:
        """Every installer's jobs with appointments on local day number `day`."""
        s, rng = self.s, self.rng
        R = rng.random
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        weekend = weekday >= 5
        jobs_cum = self.jobs_cum[weekday]
        midnight = day * 86400 - s.offset
        week = (day + 3) // 7
        forced: dict[int, list[tuple[int, int]]] = {}
        for customer, district in self.pending.pop(day, []):
            choices = self.by_district[district]
            for _ in range(4):
                installer = choices[int(R() * len(choices))]
                if self._works(installer, day, week):
                    forced.setdefault(installer.id, []).append((customer, district))
                    break
        for installer in s.installers:
            if not self._works(installer, day, week):
                continue
            if R() < 0.015:  # sick leave, training, a day in lieu
                continue
            repeats = forced.get(installer.id, ())
            count = max(bisect(jobs_cum, R() * jobs_cum[-1]), len(repeats))
            windows = self._windows(count)
            t_free = midnight + 8 * 3600 + 1800  # the shift starts at 08:30
            type_cum = installer.type_cum[weekend]
            for k, window in enumerate(windows):
                if k < len(repeats):
                    customer, district = repeats[k]
                    code = "repair"
                else:
                    code = self.job_codes[bisect(type_cum, R() * type_cum[-1])]
                    district = self.district_index[installer.team.districts[
                        bisect(installer.district_cum, R() * installer.district_cum[-1])][0]]
                    customer = self._customer(district, day)
                self.last_used[customer] = day
                t_free = self.order(installer, day, midnight, window, code, customer, district, k < len(repeats),
                                    t_free)

    def _works(self, installer: _Installer, day: int, week: int) -> bool:
        """Six-day weeks with a rest day that moves by one each week."""
        if day > installer.last_day or day < installer.hired_day:
            return False
        return (day + 3) % 7 != (installer.rest_offset + week) % 7

    def _windows(self, count: int) -> list[int]:
        """Booking windows for the day's jobs, at most two per window, in time order."""
        taken = [0] * len(WINDOWS)
        chosen = []
        R = self.rng.random
        cum = self.window_cum
        for _ in range(count):
            w = bisect(cum, R() * cum[-1])
            while taken[w] >= 2:
                w = (w + 1) % len(WINDOWS)
            taken[w] += 1
            chosen.append(w)
        chosen.sort()
        return chosen

    def _customer(self, district: int, day: int) -> int:
        """An account of the district not served in the last five weeks (a few tries)."""
        R = self.rng.random
        start, size = self.pool_start[district], self.pool_size[district]
        last_used = self.last_used
        customer = start + int(R() * size)
        for _ in range(6):
            if day - last_used[customer] > 35:
                break
            customer = start + int(R() * size)
        return customer

    # -- one order

    def order(self, inst: _Installer, day: int, midnight: int, window: int, code: str, customer: int,
              district: int, is_repeat: bool, t_free: int) -> int:
        """Simulate one order to its end, cut it at the demo clock, emit its rows; returns when the
        installer is free again."""
        s, rng = self.s, self.rng
        R = rng.random
        offset = s.offset
        jt = s.job_types[code]
        _share, median, fv_adjust, ahead = JOB_MIX[code]
        skill = inst.skill
        outer = self.outer[district]
        ws = midnight + WINDOWS[window] * 3600
        we = ws + 7200

        # Created: days ahead (booked at once), or from the hourly pattern before the window.
        booked_at_creation = False
        if not is_repeat and R() < ahead:
            created = midnight - 86400 * rng.randint(1, 4) + _pick(R, self.daytime_cum) * 3600 + int(R() * 3600)
            booked_at_creation = True
        else:
            hours, cum = self.creation[window]
            created = midnight + hours[bisect(cum, R() * cum[-1])] * 3600 + int(R() * 3600)
        local = created + offset
        c_mid = local - local % 86400 - offset  # midnight (UTC epoch) of the creation's local day
        c_sec = local % 86400
        if jt.same_day_cutoff_hour is not None and c_sec < jt.same_day_cutoff_hour * 3600:
            due = c_mid + 86399
        else:
            due = created + jt.deadline_hours * 3600
        if we > due:
            booked_at_creation = True  # the customer's own time: the deadline moves to its end
            due = we
        elif not booked_at_creation:
            booked_at_creation = R() < 0.6

        # Dispatch: assigned within the hour in office hours, else next morning; accepted soon after.
        c_hour = c_sec // 3600
        if c_hour < 8:
            t_assign = c_mid + 8 * 3600 + int(R() * 2400)
        elif c_hour >= 21:
            t_assign = c_mid + 86400 + 8 * 3600 + int(R() * 2400)
        else:  # most within minutes; some wait for a busy dispatcher
            roll = R()
            t_assign = created + (180 + int(R() * 1020) if roll < 0.55 else 1200 + int(R() * 4200) if roll < 0.85
                                  else 5400 + int(R() * 9000))
        roll = R()
        t_accept = t_assign + (60 + int(R() * 840) if roll < 0.5 else 900 + int(R() * 4500) if roll < 0.85
                               else 5400 + int(R() * 12600))
        a_sec = (t_accept + offset) % 86400
        if a_sec >= 21 * 3600 or a_sec < 7 * 3600:  # accepted first thing in the morning
            t_accept = t_accept + (86400 if a_sec >= 21 * 3600 else 0) - a_sec + 7 * 3600 + 1800 + int(R() * 1800)
        t_book = t_accept + 300 + int(R() * 3300)

        # First visit: usually inside the window, finishing by the deadline; sometimes late.
        travel = 1800 + int(R() * 1800) if outer else 900 + int(R() * 900)
        duration = int(median * 60 * math.exp(DURATION_SIGMA * rng.gauss(0, 1)))
        late = _clip(0.022 - 0.008 * skill, 0.003, 0.1) + (0.015 if outer else 0.0)
        if R() < late:
            arrive = we + 300 + int(R() * 3000)
        else:
            latest = min(we - 300, due - duration - 300)
            arrive = ws + int(R() * (latest - ws)) if latest > ws else ws
            # After the previous job when that still keeps the appointment (else, in effect,
            # that job was quicker than drawn: the day's plan is not a strict timetable).
            if t_free + travel > arrive and t_free + travel <= latest:
                arrive = t_free + travel
        if arrive + duration > due - 300 and due - 600 - arrive > 1200 and R() < 0.9:
            duration = due - 600 - arrive - int(R() * 600)  # a long job finished against the deadline
        depart = arrive - travel
        last_step = t_accept if booked_at_creation else t_book
        if last_step > depart - 120:  # squeeze dispatch into the time there was
            span = max(depart - created, 240)
            t_assign, t_accept, t_book = created + span // 5, created + span * 2 // 5, created + span * 3 // 5
            if depart < created + span * 4 // 5:
                depart = created + span * 4 // 5
                arrive = max(arrive, depart + 300)

        sup = inst.team.supervisor_id
        by_crm = R() < 0.65
        actor_create = None if by_crm else sup
        ref = None
        ev: list[list[Any]] = []  # [t, actor, action, from, to, note, lat, lon, data]
        windows: list[tuple[int, int | None, int | None]] = []  # (t, start, end): the order's window over time
        note = ORDER_NOTES[int(R() * len(ORDER_NOTES))] if R() < 0.12 else None
        ev.append([created, actor_create, "create", None, "new", note, None, None, None])
        if booked_at_creation:
            windows.append((created, ws, we))
        else:
            windows.append((created, None, None))
        username = inst.username
        ev.append([t_assign, sup, "assign", "new", "assigned", None, None, None,
                   f'{{"assignee": "{username}", "previous": null}}'])

        visits: list[list[Any]] = []
        status_final = "completed"
        evidence = None
        cancel_reason = None
        lat0, lon0 = self.centre[district]
        lat = round(lat0 + (R() - 0.5) * 0.06, 6)
        lon = round(lon0 + (R() - 0.5) * 0.06, 6)

        if R() < 0.011:  # cancelled before anyone went
            t_cancel = created + int((depart - created) * (0.1 + 0.8 * R()))
            ev = [e for e in ev if e[0] < t_cancel]
            if t_accept < t_cancel:
                ev.append([t_accept, inst.id, "accept", "assigned", "accepted", None, None, None, None])
            before = ev[-1][4]
            cancel_reason = CANCEL_REASONS[int(R() * len(CANCEL_REASONS))]
            ev.append([t_cancel, sup if R() < 0.6 else None, "cancel", before, "cancelled", None, None, None,
                       f'{{"reason": "{cancel_reason}"}}'])
            status_final = "cancelled"
            end_free = t_free
        else:
            ev.append([t_accept, inst.id, "accept", "assigned", "accepted", None, None, None, None])
            if not booked_at_creation:
                ev.append([t_book, inst.id, "book", "accepted", "accepted", None, None, None, self._book_data(ws, we)])
                windows.append((t_book, ws, we))
            p_first = _clip(0.885 + 0.035 * skill, 0.80, 0.97) + fv_adjust
            resolved = R() < p_first
            seq = 1
            aps, ape = ws, we
            while True:
                if arrive - depart > 0:
                    ev.append([depart, inst.id, "depart", "accepted", "en_route", None, None, None, None])
                    ev.append([arrive, inst.id, "arrive", "en_route", "on_site", None, lat, lon, None])
                else:
                    ev.append([arrive, inst.id, "arrive", "accepted", "on_site", None, lat, lon, None])
                if resolved:
                    left = arrive + duration
                    visits.append([seq, arrive, left, "resolved", None, aps, ape])
                    evidence = self._evidence(code, skill)
                    ev.append([left, inst.id, "complete", "on_site", "completed", None, lat, lon,
                               '{"evidence": ' + evidence + "}"])
                    break
                reason = self.reasons[bisect(inst.reason_cum, R() * inst.reason_cum[-1])]
                if seq > 1 and reason == "customer_cancel":
                    reason = "needs_second_visit"
                left = arrive + (int(duration * (0.2 + 0.3 * R())) if reason == "customer_absent"
                                 else int(duration * (0.4 + 0.5 * R())))
                visits.append([seq, arrive, left, "not_resolved", reason, aps, ape])
                notes = REASON_NOTES[reason]
                ev.append([left, inst.id, "leave_unresolved", "on_site", "accepted",
                           notes[int(R() * len(notes))] if R() < 0.7 else None, lat, lon,
                           f'{{"reason": "{reason}"}}'])
                windows.append((left, None, None))
                if reason == "customer_cancel" or (reason == "no_coverage" and R() < 0.5):
                    t_cancel = left + 600 + int(R() * 6600)
                    cancel_reason = "用户撤单" if reason == "customer_cancel" else "无光纤资源，退单"
                    ev.append([t_cancel, sup, "cancel", "accepted", "cancelled", None, None, None,
                               f'{{"reason": "{cancel_reason}"}}'])
                    status_final = "cancelled"
                    break
                # The revisit: agreed on the phone for later today (any two hours on the half
                # hour, ending by 21:30) when the reason allows, else a booking window another day.
                _share, same_day, later_days = REASONS[reason]
                if outer:
                    same_day *= 0.75
                left_local = (left + offset) % 86400
                aps = 0
                if seq == 1 and R() < same_day:
                    start_local = -(-(left_local + 2700 + int(R() * 5400)) // 1800) * 1800
                    if start_local + 7200 <= 21 * 3600 + 1800:
                        aps = left - left_local + start_local
                if not aps:
                    ahead_days = 1 + int(R() * later_days) if later_days > 1 else 1
                    w2 = bisect(self.window_cum, R() * self.window_cum[-1])
                    aps = left - left_local + ahead_days * 86400 + WINDOWS[w2] * 3600
                ape = aps + 7200
                t_book2 = left + 120 + int(R() * min(3600, max(300, aps - left - 1800)))
                ev.append([t_book2, inst.id, "book", "accepted", "accepted", None, None, None,
                           self._book_data(aps, ape)])
                windows.append((t_book2, aps, ape))
                arrive = aps + int(R() * 4500)
                depart = max(arrive - travel, t_book2 + 60)
                duration = int(median * 60 * math.exp(DURATION_SIGMA * rng.gauss(0, 1)))
                if arrive + duration > due - 300 and due - 900 - arrive > 1200:  # finish in time if at all possible
                    duration = min(duration, due - 900 - arrive)
                seq += 1
                resolved = seq >= 3 or R() < _clip(0.85 + 0.05 * skill, 0.7, 0.97)
            end_free = visits[0][2]

        # Cut at the demo clock.
        vnow = s.vnow
        if ev[-1][0] > vnow:
            if created > vnow:
                return t_free
            ev = [e for e in ev if e[0] <= vnow]
            visits = [v for v in visits if v[1] <= vnow]
            if visits and visits[-1][2] > vnow:
                visits[-1][2:5] = [None, None, None]
            windows = [w for w in windows if w[0] <= vnow]
            status = ev[-1][4]
        else:
            status = status_final
        assigned = any(e[2] == "assign" for e in ev)
        app_start, app_end = windows[-1][1], windows[-1][2]

        bulk = self.bulk
        ts = bulk.ts
        ids = self.ids
        ids["work_orders"] += 1
        order_id = ids["work_orders"]
        created_day = s.day_date((created + offset) // 86400)
        number = f"WO{created_day:%y%m%d}-{order_id:07d}"
        if by_crm:
            ref = f"CRM{created_day:%Y%m%d}{order_id:08d}"
            ev[0][8] = f'{{"external_ref": "{ref}"}}'
        completed_at = ev[-1][0] if status == "completed" else None
        cancelled_at = ev[-1][0] if status == "cancelled" else None
        is_height = code in ("install", "relocation", "repair") and inst.has_height and R() < 0.04
        priority = self._priority(code)
        bulk.rows["work_orders"].append((
            order_id, number, ref, jt.id, priority, customer, self.district_id[district], self.addresses[customer],
            inst.team.id if assigned else None, inst.id if assigned else None, status, is_height, ev[0][5],
            ts(app_start) if app_start else None, ts(app_end) if app_end else None, ts(created), ts(ev[-1][0]),
            ts(due), ts(completed_at) if completed_at else None, inst.id if completed_at else None,
            ts(cancelled_at) if cancelled_at else None, cancel_reason if cancelled_at else None,
            evidence if completed_at else None, len(ev), len(visits)))
        visit_rows = bulk.rows["visits"]
        for seq, arrived, left, outcome, reason, v_start, v_end in visits:
            ids["visits"] += 1
            visit_rows.append((ids["visits"], order_id, seq, inst.id, ts(arrived), ts(left) if left else None,
                               outcome, reason, ts(v_start) if v_start else None, ts(v_end) if v_end else None,
                               lat, lon))
        event_rows = bulk.rows["work_order_events"]
        event_id = ids["work_order_events"]
        for t, actor, action, before, after, text, e_lat, e_lon, data in ev:
            event_id += 1
            event_rows.append((event_id, order_id, actor, ts(t), action, before, after, text, e_lat, e_lon, data))
        ids["work_order_events"] = event_id

        if completed_at is not None:
            self._rating(order_id, inst, completed_at, len(visits) > 1 or completed_at > due,
                         visits[0][1] <= visits[0][6])
            if code == "repair" or code == "install":
                base = 0.07 if code == "repair" else 0.02
                if R() < base * math.exp(-0.35 * skill) / 1.063 * (0.85 if inst.star >= 3 else 1.1):
                    window_days = 29 if code == "repair" else 14
                    completed_day = (completed_at + offset) // 86400
                    self.pending.setdefault(completed_day + rng.randint(2, window_days), []).append(
                        (customer, district))
        return end_free

    def _book_data(self, start: int, end: int) -> str:
        iso_start = datetime.fromtimestamp(start, UTC).isoformat()
        iso_end = datetime.fromtimestamp(end, UTC).isoformat()
        return f'{{"appointment_start": "{iso_start}", "appointment_end": "{iso_end}"}}'

    def _priority(self, code: str) -> str:
        roll = self.rng.random()
        if code == "repair":
            return "urgent" if roll < 0.03 else "high" if roll < 0.15 else "normal"
        if code == "removal":
            return "low" if roll < 0.6 else "normal"
        return "high" if roll < 0.06 else "normal"

    def _evidence(self, code: str, skill: float) -> str:
        """The completion evidence as the lifecycle stores it (no photos in the demo)."""
        R = self.rng.random
        if code in ("install", "relocation", "upgrade"):
            vendor = ONU_VENDORS[int(R() * len(ONU_VENDORS))]
            serial = f"{vendor}{self.rng.getrandbits(32):08X}"
            if R() < _clip(0.02 - 0.008 * skill, 0.004, 0.08):
                rx = -27.2 - R() * 3 if R() < 0.8 else -7.8 + R() * 2.5
            else:
                rx = -16.0 - 7.0 * (R() + R()) / 2
            in_band = "true" if self.rx_band[0] <= rx <= self.rx_band[1] else "false"
            return (f'{{"onu_serial": "{serial}", "rx_power_dbm": {rx:.2f}, "rx_power_in_band": {in_band}, '
                    f'"photos": 0, "signature": false}}')
        if code == "repair":
            cause = FAULT_CAUSES[bisect(self.fault_cum, R() * self.fault_cum[-1])][0]
            return f'{{"fault_cause": "{cause}", "photos": 0, "signature": false}}'
        if code == "smart_home":
            plan = (300, 500, 1000)[int(R() * 3)]
            return f'{{"speed_mbps": {plan * (0.86 + 0.12 * R()):.1f}, "photos": 0, "signature": false}}'
        return '{"photos": 0, "signature": false}'

    def _rating(self, order_id: int, inst: _Installer, completed: int, troubled: bool, on_time: bool) -> None:
        """The order's rating link and, for about a quarter, the customer's stars (DOMAIN §3.4)."""
        rng, bulk, ids = self.rng, self.bulk, self.ids
        R = rng.random
        ts = bulk.ts
        ids["survey_invitations"] += 1
        invitation_id = ids["survey_invitations"]
        # Random from the system, not the seed: the demo's rating links must not be guessable.
        token_hash = hashlib.sha256(secrets.token_bytes(24)).hexdigest()
        expires = completed + self.link_seconds
        submitted = None
        if R() < 0.25:
            submitted = completed + (60 + int(R() * 1140) if R() < 0.6 else 1800 + int(R() * 170000))
            if submitted > self.s.vnow:
                submitted = None
        bulk.rows["survey_invitations"].append((invitation_id, order_id, token_hash, ts(completed), ts(expires),
                                                ts(submitted) if submitted else None))
        if submitted is None:
            return
        skill = inst.skill
        bonus = 0.8 if inst.star >= 3 else 1.0
        p_bad = 0.0065 * math.exp(-0.6 * skill) * bonus * (2.5 if troubled else 1.0)
        p_mid = 0.035 * math.exp(-0.5 * skill) * bonus * (1.8 if troubled else 1.0)
        roll = R()
        score = (1 if R() < 0.4 else 2) if roll < p_bad else (3 if R() < 0.3 else 4) if roll < p_bad + p_mid else 5
        punctuality = professionalism = result = None
        if R() < 0.6:
            punctuality = 5 if on_time else 2 + int(R() * 3)
            professionalism = max(1, min(5, score + (int(R() * 3) - 1 if score < 5 else 0)))
            result = max(1, score - 1) if troubled and score < 5 else score
        comment = None
        if R() < (0.6 if score <= 2 else 0.15):
            pool = COMMENTS_GOOD if score == 5 else COMMENTS_MIDDLE if score >= 3 else COMMENTS_BAD
            comment = pool[int(R() * len(pool))]
        ids["survey_responses"] += 1
        bulk.rows["survey_responses"].append((ids["survey_responses"], invitation_id, order_id, inst.id, score,
                                              punctuality, professionalism, result, comment, ts(submitted)))


__all__ = ["DEMO_PASSWORD", "demo_sign_ins", "seed_demo"]
