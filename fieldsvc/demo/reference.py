"""What the demo draws from: Wuhan's districts, names, phones and estates, the job mix and its
rates, the notes and comments people write, the training catalogue (DOMAIN.md §2–3), and the small
helpers that draw from them."""
from __future__ import annotations

import math
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from random import Random
from typing import Any

# --- Wuhan: districts (DOMAIN §3.1–3.2) -------------------------------------------------------

@dataclass(frozen=True)
class DistrictInfo:
    abbr: str  # team-code prefix
    short_zh: str
    installers: int  # DOMAIN §3.1 installer estimate: the share of teams and work
    areas: tuple[tuple[str, str], ...]  # 片区/街道 for team names: (中文, pinyin)
    roads: tuple[str, ...]
    neighbours: tuple[str, ...]
    centre: tuple[float, float]


DISTRICT_INFO: dict[str, DistrictInfo] = {
    "jiangan": DistrictInfo("JA", "江岸", 83, (("后湖", "Houhu"), ("二七", "Erqi"), ("百步亭", "Baibuting"),
                            ("台北", "Taibei"), ("堤角", "Dijiao")),
                            ("解放大道", "建设大道", "后湖大道", "黄浦大街", "二七路", "台北路", "沿江大道", "金桥大道"),
                            ("jianghan", "huangpi"), (30.615, 114.305)),
    "jianghan": DistrictInfo("JH", "江汉", 56, (("唐家墩", "Tangjiadun"), ("万松", "Wansong"), ("汉兴", "Hanxing"),
                             ("前进", "Qianjin")),
                             ("解放大道", "建设大道", "新华路", "唐家墩路", "江汉路", "发展大道", "青年路"),
                             ("jiangan", "qiaokou"), (30.601, 114.268)),
    "qiaokou": DistrictInfo("QK", "硚口", 57, (("古田", "Gutian"), ("宝丰", "Baofeng"), ("汉正", "Hanzheng"),
                            ("长丰", "Changfeng")),
                            ("解放大道", "中山大道", "古田二路", "宝丰路", "长丰大道", "汉正街", "京汉大道"),
                            ("jianghan", "dongxihu"), (30.580, 114.225)),
    "hanyang": DistrictInfo("HY", "汉阳", 72, (("四新", "Sixin"), ("王家湾", "Wangjiawan"),
                            ("钟家村", "Zhongjiacun"), ("江堤", "Jiangdi")),
                            ("汉阳大道", "鹦鹉大道", "龙阳大道", "四新大道", "芳草路", "琴台大道", "墨水湖北路"),
                            ("caidian", "qiaokou"), (30.552, 114.218)),
    "wuchang": DistrictInfo("WC", "武昌", 105, (("中南", "Zhongnan"), ("积玉桥", "Jiyuqiao"), ("首义", "Shouyi"),
                            ("南湖", "Nanhu"), ("徐家棚", "Xujiapeng")),
                            ("武珞路", "中北路", "中南路", "和平大道", "友谊大道", "徐东大街", "民主路", "中山路"),
                            ("hongshan", "qingshan"), (30.553, 114.316)),
    "qingshan": DistrictInfo("QS", "青山", 40, (("红卫路", "Hongweilu"), ("钢都", "Gangdu"), ("武东", "Wudong")),
                             ("和平大道", "建设一路", "冶金大道", "友谊大道", "红钢城大街", "工业路"),
                             ("hongshan", "wuchang"), (30.632, 114.385)),
    "hongshan": DistrictInfo("HS", "洪山", 230, (("光谷", "Guanggu"), ("关山", "Guanshan"), ("珞南", "Luonan"),
                             ("和平", "Heping"), ("青菱", "Qingling"), ("花山", "Huashan"), ("左岭", "Zuoling"),
                             ("佛祖岭", "Fozuling")),
                             ("珞喻路", "光谷大道", "关山大道", "雄楚大道", "民族大道", "鲁磨路", "南湖大道",
                               "高新大道"),
                             ("wuchang", "jiangxia"), (30.505, 114.400)),
    "dongxihu": DistrictInfo("DXH", "东西湖", 69, (("吴家山", "Wujiashan"), ("金银湖", "Jinyinhu"),
                             ("将军路", "Jiangjunlu")),
                             ("东吴大道", "金银湖路", "将军路", "临空港大道", "吴中街"),
                             ("qiaokou", "huangpi"), (30.620, 114.140)),
    "hannan": DistrictInfo("HN", "汉南", 39, (("纱帽", "Shamao"), ("军山", "Junshan"), ("沌口", "Zhuankou")),
                           ("汉南大道", "纱帽正街", "兴城大道", "东风大道", "沌阳大道"),
                           ("caidian",), (30.310, 114.085)),
    "caidian": DistrictInfo("CD", "蔡甸", 45, (("蔡甸街", "Caidianjie"), ("奓山", "Zhashan"), ("索河", "Suohe")),
                            ("蔡甸大街", "知音湖大道", "汉阳大街", "成功大道", "新天大道"),
                            ("hanyang", "hannan"), (30.583, 114.030)),
    "jiangxia": DistrictInfo("JX", "江夏", 80, (("纸坊", "Zhifang"), ("藏龙岛", "Canglongdao"),
                             ("庙山", "Miaoshan"), ("五里界", "Wulijie")),
                             ("文化大道", "江夏大道", "纸坊大街", "藏龙大道", "光谷一路"),
                             ("hongshan",), (30.375, 114.320)),
    "huangpi": DistrictInfo("HP", "黄陂", 99, (("前川", "Qianchuan"), ("盘龙城", "Panlongcheng"), ("武湖", "Wuhu"),
                            ("横店", "Hengdian")),
                            ("前川大道", "百秀街", "盘龙大道", "黄陂大道", "巨龙大道"),
                            ("xinzhou", "jiangan"), (30.880, 114.375)),
    "xinzhou": DistrictInfo("XZ", "新洲", 74, (("邾城", "Zhucheng"), ("阳逻", "Yangluo"), ("仓埠", "Cangbu")),
                            ("邾城街", "新洲大道", "齐安大道", "阳逻开发区大道", "施岗路"),
                            ("huangpi", "qingshan"), (30.842, 114.802)),
}

CN_NUMERALS = "一二三四五六七八九十"

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
# DOMAIN's CHECK type (2%) has no job type here; the shares are used as relative weights. Repairs
# weigh less than DOMAIN's 45%: installers without the FTTH certificate take repairs instead of
# installs, and repeat faults come on top, which brings them to about 49% of the orders.
JOB_MIX: dict[str, tuple[float, float, float, float]] = {
    "install": (25, 70, -0.03, 0.15),
    "relocation": (8, 75, -0.03, 0.20),
    "upgrade": (6, 35, 0.03, 0.08),
    "repair": (41, 40, 0.01, 0.02),
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
# What supervisors write when they follow up a dissatisfied rating (回访).
FOLLOWUP_CONTACT_NOTES = ("已致电客户，了解了情况并致歉", "客户反映上门迟到，已道歉", "客户说网速仍慢，约了测速",
                          "客户不满布线，已说明处理办法")
FOLLOWUP_CLOSE_NOTES = {"resolved": "问题已处理，客户表示满意", "explained": "已向客户解释原因，客户接受",
                        "customer_unreachable": "多次致电无人接听", "not_installer_fault": "系片区光缆故障，非装维原因"}

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


# --- Drawing ----------------------------------------------------------------------------------

def cum(weights: Any) -> list[float]:
    """Cumulative weights, for drawing with `pick` (or `bisect` inline in the hot loops)."""
    return list(accumulate(weights))


def pick(rng_random: Callable[[], float], weights_cum: list[float]) -> int:
    """An index drawn with the cumulative weights `weights_cum`."""
    return bisect(weights_cum, rng_random() * weights_cum[-1])


def poisson_cum(mean: float) -> list[float]:
    """Cumulative weights of a day's job count: Poisson around `mean`, truncated to JOBS_MIN–JOBS_MAX."""
    weights = [math.exp(-mean) * mean**k / math.factorial(k) if JOBS_MIN <= k <= JOBS_MAX else 0.0
               for k in range(JOBS_MAX + 1)]
    return cum(weights)


def clip(value: float, low: float, high: float) -> float:
    """`value` held within [low, high]."""
    return low if value < low else high if value > high else value


def person_name(rng: Random, female: bool = False) -> tuple[str, str]:
    """A Wuhan name and its pinyin: a common surname and one or two given characters."""
    surname, surname_en = SURNAMES[int(rng.random() * len(SURNAMES))]
    pool = GIVEN_FEMALE if female else GIVEN_MALE
    first, first_en = pool[int(rng.random() * len(pool))]
    if rng.random() < 0.55:
        second, second_en = pool[int(rng.random() * len(pool))]
        return surname + first + second, f"{surname_en} {first_en}{second_en.lower()}"
    return surname + first, f"{surname_en} {first_en}"


def phone_number(rng: Random, prefixes: tuple[str, ...]) -> str:
    """An eleven-digit mobile number on one of `prefixes`."""
    return prefixes[int(rng.random() * len(prefixes))] + f"{rng.randrange(10**8):08d}"



# --- The service standard and on-site support (issue #15) -------------------------------------

# The branch put the default service standard (fieldsvc.reference.STANDARD_STEPS) in force eight
# weeks before the demo's `now` (or when its history begins, if that is later), and a second
# version for repairs (an optical reading at the door) three weeks before `now`. Orders keep the
# version in force when they were created. (Eight weeks, not the whole history: a checked order
# has seven or eight ticks, which would make the seeding a third slower, bench/README.md.) The
# booking call is ticked on every order of the history, with or without a standard.
STANDARD_DAYS = 56
STANDARD_V2_DAYS = 21
STANDARD_V2 = ("repair", ("rx_reading", "at_completion", True, "测量并记录入户光功率",
                          "Measure and record the optical power at the door"),
               "修障增加光功率测量 / Repairs: optical reading added")
# What installers ask the support desk (fieldsvc.support.categories) when no failure reason says
# otherwise, with the notes they type; the desk's replies; its closing notes by resolution.
SUPPORT_CATEGORY_WEIGHTS = {"provisioning": 30, "optical_signal": 20, "technical": 20, "resource_port": 10,
                            "customer_equipment": 10, "outside_plant": 5, "other": 5}
SUPPORT_CATEGORY_BY_REASON = {"no_port": "resource_port", "no_coverage": "resource_port",
                              "line_fault": "outside_plant", "needs_escalation": "technical",
                              "customer_device": "customer_equipment", "missing_material": "other"}
SUPPORT_NOTES = {
    "resource_port": ("分光器端口已满，请核查可用端口", "资源系统端口与现场不符"),
    "provisioning": ("光猫注册不上，请远程下发数据", "LOID认证失败，请核对", "IPTV业务开通不了，请查配置"),
    "optical_signal": ("收光偏低，请查局端", "光猫LOS灯红闪"),
    "outside_plant": ("楼道分纤箱无光，疑似主干故障", "入户光缆中断，需线路班配合"),
    "customer_equipment": ("用户自购路由器无法拨号", "用户电视机顶盒不兼容"),
    "technical": ("测速达不到签约速率，请协助排查", "组网后WiFi漫游异常，请指导"),
    "other": ("请协助联系物业", "缺少配件，请协调"),
}
SUPPORT_REPLIES = {
    "resource_port": ("已核查，请改用3号端口", "端口已释放，请重新跳纤"),
    "provisioning": ("数据已重新下发，请重启光猫", "LOID已更正，请重新注册"),
    "optical_signal": ("局端正常，请检查冷接头", "请清洁连接器后再测"),
    "outside_plant": ("已通知线路班，预计一小时内处理", "主干正常，请查分纤箱跳线"),
    "customer_equipment": ("请将路由器恢复出厂后改为桥接", "请更换为我司机顶盒"),
    "technical": ("请检查用户电脑网卡，改用网线测速", "请按组网规范调整主路由位置"),
    "other": ("已联系物业，稍后有人开门", "已协调，班组送配件过去"),
}
SUPPORT_CLOSE_NOTES = {"solved_remotely": "已远程处理，业务恢复", "expert_sent": "已派技术骨干上门协助",
                       "escalated_noc": "已升级网络运维中心处理", "cannot_solve": "现场无法解决，另行安排处理"}
