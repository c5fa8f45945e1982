"""Chinese case descriptions for the demo history: templates per category, filled with places and objects.

Every leaf category of the seeded taxonomy has several templates; each template draws its
blanks from small word pools, so two thousand demo cases read like two thousand different
reports rather than one sentence repeated. ``describe()`` is deterministic for a given
random generator, so the same seed gives the same history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Blanks shared by many templates. {estate}, {road} and {community} come from the place.
POOLS: dict[str, list[str]] = {
    "building": [f"{n}号楼" for n in range(1, 31)] + [f"{n}栋" for n in range(1, 21)],
    "unit": ["1单元", "2单元", "3单元", "4单元"],
    "floor": ["一楼", "二楼", "三楼", "五楼", "六楼", "顶楼", "地下车库"],
    "spot": ["东门口", "西门外", "南侧围墙边", "北门岗亭旁", "垃圾分类亭旁", "篮球场边", "小广场", "地下车库入口",
             "幼儿园门口", "菜市场后门", "公交站台旁", "桥下", "公厕附近", "健身器材旁"],
    "time": ["今天早上", "今天上午", "中午", "今天下午", "傍晚", "晚上十点多", "凌晨两点左右", "这几天", "近一周",
             "每天夜里", "周末两天"],
    "duration": ["两天", "三天", "一周", "半个多月", "一个多月"],
    "shop": ["烧烤店", "小吃店", "水果店", "便利店", "理发店", "五金店", "快递驿站", "早餐店", "汽修店", "KTV"],
    "vehicle": ["白色小轿车", "黑色SUV", "货车", "面包车", "三轮车", "渣土车"],
    "amount": ["三千多元", "五千元", "八千元", "一万二千元", "两万多元", "三个月工资"],
    "company": ["某装修公司", "某物流公司", "某餐饮店", "某建筑劳务公司", "某服装厂", "某保洁公司"],
    "person": ["一名老人", "一名独居老人", "一名残疾人", "一名外来务工人员", "一位孕妇", "一名走失儿童"],
    "facility": ["路灯", "消火栓", "雨水箅子", "电线杆", "通信箱", "公交站牌", "垃圾桶", "休息座椅"],
    "tree": ["香樟树", "榕树", "梧桐树", "行道树", "桂花树"],
    "pipe": ["自来水管", "供水主管", "排水管", "消防水管"],
    "noise": ["空调外机", "广场舞音响", "装修电钻", "夜间卸货", "酒吧音乐", "狗叫"],
}

T = list[str]

# Leaf category code → templates (title is derived from the first clause).
TEMPLATES: dict[str, T] = {
    "EV0101": [
        "{estate}{spot}有大量生活垃圾无人清运，已堆放{duration}，散发异味，蚊蝇很多。",
        "{road}边绿化带里被人丢弃了装修垃圾和旧家具，影响市容，请尽快清理。",
        "{community}{spot}的垃圾桶满溢，{time}垃圾散落一地，野猫翻找，居民反映强烈。",
    ],
    "EV0102": [
        "{road}与{road2}交叉口西侧空地堆积渣土约{n}立方米，未覆盖，刮风扬尘。",
        "{estate}{building}楼下积存建筑垃圾{duration}无人处理，占用消防通道。",
    ],
    "EV0103": [
        "{road}{time}有{vehicle}沿途撒漏泥土，路面全是泥浆，行人车辆通行不便。",
        "{road}人行道油污严重，疑似附近{shop}倾倒，行人容易滑倒。",
    ],
    "EV0104": [
        "{road}一家{shop}长期将污水直接倒入雨水井，气味难闻，投诉多次未改。",
        "{estate}{spot}有人把洗车污水排到路面，结冰后容易滑倒。",
    ],
    "EV0201": [
        "{estate}{building}{unit}楼道墙面被贴满开锁、疏通管道小广告，清理后又被贴上。",
        "{road}公交站台和电线杆上张贴大量办证小广告，影响市容。",
    ],
    "EV0202": [
        "{road}一{shop}未经审批在门头上方加装大型LED广告牌，夜间强光刺眼，且固定不牢存在坠落隐患。",
        "{road}与{road2}交叉口新立一块户外广告牌，遮挡交通标志。",
    ],
    "EV0301": [
        "{road}工地{time}仍在施工，打桩声音很大，附近{estate}居民无法休息。",
        "{estate}对面工地夜间浇筑混凝土，搅拌车噪音持续到凌晨，请核实是否办理夜间施工许可。",
    ],
    "EV0302": [
        "{road}在建工地未落实围挡和洒水降尘措施，{time}扬尘很大，附近{estate}窗台全是灰。",
        "{road}工地出入口未设冲洗平台，运输车辆带泥上路，扬尘严重。",
    ],
    "EV0303": [
        "{estate}{building}顶楼住户正在搭建彩钢棚，面积约{n}平方米，疑似违章建筑。",
        "{estate}{building}一楼住户私自扩建院子围墙并加盖房屋，侵占公共绿地。",
        "{road}沿街商铺在门前违规搭建雨棚占用人行道。",
    ],
    "EV0401": [
        "{road}{spot}{time}都有流动摊贩占道经营，堵塞人行道，还有油烟。",
        "{estate}门口水果摊把货物摆到路中间，电动车经过很危险。",
    ],
    "EV0402": [
        "{estate}{spot}{vehicle}长期乱停放，堵住小区出入口，救护车进不来。",
        "{road}人行道上停满机动车，行人只能走机动车道，存在安全隐患。",
    ],
    "EV0403": [
        "{estate}{building}附近{noise}噪音扰民，{time}持续不断，已影响老人和孩子休息。",
        "{road}一家{shop}营业到深夜，音响声音很大，楼上居民无法入睡。",
    ],
    "EV0501": [
        "{road}靠近{road2}路口出现路面塌陷，坑洞直径约一米，已有电动车摔倒，请立即处置。",
        "{estate}{spot}地面突然下沉开裂，下面疑似空洞，需要围挡警示。",
    ],
    "EV0502": [
        "{estate}{building}{floor}冒出浓烟，疑似起火，已拨打119，请网格员协助疏散群众。",
        "{road}{spot}一处垃圾堆着火，火势不大但浓烟较多，附近有居民楼。",
        "{road}一家{shop}后厨起火，现场有人员聚集。",
    ],
    "EV0503": [
        "{road}{pipe}爆裂，大量自来水涌出，路面积水，附近{estate}停水。",
        "{estate}{building}楼下地下管道爆裂，水往地下室倒灌。",
    ],
    "EV0504": [
        "{road}人行道上一处井盖缺失，夜间没有照明，极易发生行人坠落，请尽快补盖。",
        "{estate}{spot}的雨水井盖破损塌陷，已用杂物临时遮挡，存在危险。",
    ],
    "CP0101": [
        "{road}从{road2}路口往东约{n}盏路灯不亮已{duration}，夜间行人出行不安全。",
        "{estate}{spot}的路灯整夜闪烁，线路疑似老化。",
    ],
    "CP0102": [
        "{estate}{building}自来水发黄有异味，已{duration}，请检查供水管道。",
        "{road}一处消火栓被撞坏漏水。",
    ],
    "CP0103": [
        "{road}一根通信电缆垂落到人行道上，离地面很低，行人容易被绊倒。",
        "{estate}{spot}的配电箱箱门损坏敞开，内有裸露电线，小孩经常在旁边玩耍。",
    ],
    "CP0201": [
        "{road}机动车道上有多处坑槽，最大的约半米宽，下雨后积水看不见，车辆经过颠簸。",
        "{road}人行道地砖大面积松动翘起，老人走路容易摔倒。",
    ],
    "CP0202": [
        "{road}与{road2}交叉口红绿灯{time}出现故障，全部黄灯闪烁，路口通行混乱。",
        "{road}人行横道信号灯不亮，行人过马路很危险。",
    ],
    "CP0203": [
        "{road}中央隔离护栏被车辆撞倒约{n}米，有行人从缺口横穿马路。",
        "{road}桥面护栏松动锈蚀，存在坠落隐患。",
    ],
    "CP0301": [
        "{road}一棵{tree}被大风刮倒，横在非机动车道上，影响通行。",
        "{estate}{spot}一棵{tree}树干开裂倾斜，紧挨居民楼，担心倒下砸到人。",
    ],
    "CP0302": [
        "{estate}{spot}有人毁绿种菜，把公共绿地翻成了菜地。",
        "{road}绿化带被车辆碾压毁坏，草皮大面积裸露。",
    ],
    "CP0401": [
        "{estate}{building}外墙出现多道明显裂缝，墙皮成块脱落，居民担心房屋安全，请鉴定。",
        "{community}一处老旧自建房屋顶塌陷一角，仍有人居住。",
    ],
    "CP0402": [
        "{estate}物业公司{duration}未清理楼道垃圾，电梯多次故障无人维修，业主要求更换物业。",
        "{estate}物业擅自提高停车费，业主有意见，多次协商未果。",
        "{estate}{building}电梯困人，物业半小时后才到现场，业主投诉物业响应不及时。",
    ],
    "GV0101": [
        "{estate}{building}{unit}楼上楼下因漏水问题发生争吵，双方情绪激动，需要调解。",
        "{estate}两户邻居因楼道堆放杂物发生口角，有推搡行为。",
        "{community}两户村民因宅基地边界发生纠纷，已争执{duration}。",
    ],
    "GV0102": [
        "{estate}{building}一户夫妻经常吵架，{time}又听到摔东西和哭喊声，请社区关注。",
        "{community}一位老人反映子女不履行赡养义务，要求社区帮助协调。",
    ],
    "GV0103": [
        "{n}名工人反映{company}拖欠工资共{amount}，多次讨要无果，情绪激动。",
        "一名外来务工人员反映在{road}{company}工作{duration}未发工资，老板失联。",
    ],
    "GV0201": [
        "{estate}{spot}连续几天有陌生人在单元门口徘徊，挨家挨户查看门锁，居民担心安全。",
        "{road}{spot}有人以推销为名向老人兜售保健品，疑似诈骗。",
    ],
    "GV0202": [
        "{estate}{building}一出租屋夜间人员进出频繁，疑似聚众赌博。",
        "{road}一家{shop}疑似有涉黄行为，请核查。",
    ],
    "GV0301": [
        "{estate}{building}消防通道被私家车和杂物长期占用，消防车无法进入。",
        "{estate}{building}{unit}楼道堆满纸箱和旧家具，堵塞疏散通道。",
    ],
    "GV0302": [
        "{estate}{building}{floor}闻到浓烈燃气味，疑似管道泄漏，请立即派人检查。",
        "{road}一家{shop}使用的液化气瓶已过期，且放在后厨灶台旁边。",
    ],
    "GV0303": [
        "{estate}{building}有住户从{floor}窗口拉电线给电动车充电（飞线充电），存在火灾隐患。",
        "{estate}{building}{unit}楼道里停放多辆电动车并在楼道内充电。",
    ],
    "GV0401": [
        "{community}{person}生活困难，无固定收入，希望申请低保或临时救助。",
        "{estate}{building}一户因病致贫，孩子面临辍学，请社区帮助申请救助。",
    ],
    "GV0402": [
        "{estate}{building}{person}行动不便，子女在外地，希望社区安排上门助餐服务。",
        "{community}有高龄老人咨询居家养老服务补贴如何申请。",
    ],
    "GV0501": [
        "{community}一名社区矫正对象{duration}未按时报到，电话无法接通。",
        "{community}一名精神障碍患者近期情绪不稳定，在{spot}大声喊叫，家属请求帮助。",
    ],
    "GV0601": [
        "居民咨询新生儿落户需要准备哪些材料。",
        "市民咨询老旧小区加装电梯的补贴政策和申请流程。",
        "咨询{community}卫生服务站{time}是否可以接种疫苗。",
        "{estate}居民咨询所在片区的学区划分和入学材料。",
        "咨询灵活就业人员如何缴纳社会保险。",
    ],
    "GV0701": [
        "投诉{road}一家{shop}短斤缺两，与店主沟通无果。",
        "投诉{community}便民服务中心工作人员态度差，办事推诿。",
        "投诉{road}一家{shop}预付卡无法退费，店铺已停业。",
    ],
    "GV0801": [
        "{road}{spot}发现{person}，疑似迷路，需要帮助联系家属。",
        "{estate}{building}{person}在家中摔倒无法起身，邻居求助。",
    ],
    "GV0901": [
        "建议在{road}与{road2}交叉口增设人行横道和信号灯，学生上下学过马路很危险。",
        "建议{estate}增设电动车集中充电桩，解决飞线充电问题。",
        "建议在{community}{spot}增加健身器材和休息座椅。",
    ],
}

# What a handler writes when the work is done, per category class (first four characters).
RESOLUTIONS: dict[str, list[str]] = {
    "EV01": ["已安排环卫人员清运完毕，现场恢复整洁。", "已清理并对责任商户进行教育，责令整改。"],
    "EV02": ["已组织人员清除小广告，并在楼道张贴提示。", "已责令当事人限期拆除违规广告牌，现已拆除。"],
    "EV03": ["已现场检查，责令施工单位停止夜间施工并落实降尘措施。", "已下达限期拆除通知书，违建已拆除。"],
    "EV04": ["已劝离占道摊贩，并安排执法人员定时巡查。", "已对违停车辆贴单并联系车主挪车。", "已现场劝导，噪声源已消除。"],
    "EV05": ["已设置围挡并完成抢修，道路恢复通行。", "明火已扑灭，无人员伤亡，现场已清理。", "已补装井盖并设置警示标志。"],
    "CP01": ["已更换损坏灯具，路灯恢复照明。", "已联系供水公司检修，供水恢复正常。", "已通知产权单位整理线缆并加固箱门。"],
    "CP02": ["已完成坑槽修补。", "信号灯已修复，路口通行恢复正常。", "已更换损坏护栏。"],
    "CP03": ["已清理倒伏树木并修剪周边危枝。", "已恢复绿地并设置保护围栏。"],
    "CP04": ["已组织专业机构鉴定并设置警戒区，动员住户临时搬离。", "已约谈物业公司，物业承诺限期整改。"],
    "GV01": ["经社区调解员调解，双方达成一致并签订调解协议。", "已协调企业支付拖欠工资。", "已上门调解，双方表示和解。"],
    "GV02": ["已移交辖区派出所核查处置。", "民警已到现场核查，已做登记并加强巡逻。"],
    "GV03": ["已清理通道杂物并约谈物业。", "已关闭燃气阀门并通知燃气公司维修。", "已拆除飞线并宣传安全充电知识。"],
    "GV04": ["已协助申请临时救助，救助金已发放。", "已安排助餐志愿者上门服务。"],
    "GV05": ["已联系司法所和家属，人员已找到并按时报到。", "已协调医护人员和家属送医治疗。"],
    "GV06": ["已电话答复相关政策及办理流程。"],
    "GV07": ["已联系经营者协商，已为投诉人办理退款。", "已约谈相关工作人员并向投诉人致歉。"],
    "GV08": ["已联系家属接回。", "已联系120送医。"],
    "GV09": ["已将建议转交相关部门研究采纳。"],
}

ROADS = ["云湖", "东岭", "西江", "北塘", "南屏", "青山", "临溪", "白沙", "望海", "人民", "解放", "建设", "中山",
         "文化", "光明", "幸福", "和平", "新华", "滨江", "环城", "朝阳", "振兴", "学府", "工业"]
ROAD_SUFFIX = ["路", "大道", "街", "东路", "西路", "北路", "南路"]
ESTATE_SUFFIX = ["小区", "花园", "家园", "新村", "公寓", "苑"]

_BLANK = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Place:
    """Where a demo case happens: district, street, community and grid names (Chinese)."""

    district: str
    street: str
    community: str
    grid: str


@dataclass(frozen=True)
class Text:
    """A generated report: title, description, address, and the resolution note a handler would write."""

    title: str
    description: str
    address: str
    resolution: str


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def estate_name(community: str, rng: np.random.Generator) -> str:
    """A residential estate named after its community (翠湖社区 → 翠湖花园)."""
    base = community.removesuffix("社区").removesuffix("村")
    return base + _pick(rng, ESTATE_SUFFIX)


def road_name(rng: np.random.Generator) -> str:
    """A plausible road name (中山东路, 滨江大道…)."""
    return _pick(rng, ROADS) + _pick(rng, ROAD_SUFFIX)


def describe(category_code: str, place: Place, rng: np.random.Generator) -> Text:
    """A varied, realistic report of ``category_code`` at ``place``."""
    templates = TEMPLATES.get(category_code) or TEMPLATES["GV0801"]
    template = _pick(rng, templates)
    estate = estate_name(place.community, rng)
    road, road2 = road_name(rng), road_name(rng)
    while road2 == road:
        road2 = road_name(rng)

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "estate":
            return estate
        if key == "road":
            return road
        if key == "road2":
            return road2
        if key == "community":
            return place.community
        if key == "n":
            return str(int(rng.integers(2, 30)))
        return _pick(rng, POOLS[key])

    description = _BLANK.sub(fill, template)
    first = re.split(r"[，。；]", description, maxsplit=1)[0]
    title = first if len(first) <= 40 else first[:39] + "…"
    if "{estate}" in template:
        address = f"{place.district}{place.street}{place.community}{estate}"
    elif "{community}" in template or "{road}" not in template:
        address = f"{place.district}{place.street}{place.community}"
    else:
        address = f"{place.district}{place.street}{road}"
    resolution = _pick(rng, RESOLUTIONS.get(category_code[:4], ["已处置完毕。"]))
    return Text(title=title, description=description, address=address, resolution=resolution)


def reporter_name(rng: np.random.Generator) -> str:
    """A reporter's name as a hotline operator writes it down (张女士, 李先生…)."""
    surname = _pick(rng, list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾"))
    return surname + _pick(rng, ["先生", "女士", "师傅", "阿姨", "大爷"])


def reporter_phone(rng: np.random.Generator) -> str:
    """A made-up mobile number (1990000xxxx) for demo reporters; demo data only, never dialled."""
    return f"1990000{int(rng.integers(0, 10_000)):04d}"
