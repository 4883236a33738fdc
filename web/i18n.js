// Shared by Muster's pages: the words (Simplified Chinese first, English second) and
// the way numbers and times are written. Times are always shown in Asia/Shanghai,
// whatever the browser's own zone is: a laptop set to UTC in the county office must
// show the same 00:45 as the phones in the village.

const LANG_KEY = "muster.lang";
export const LANGS = ["zh-CN", "en"];
const DEFAULT_LANG = "zh-CN";
const TIME_ZONE = "Asia/Shanghai";

const TABLES = {
  "zh-CN": {
    "app.title": "Muster 指挥中心",
    "phase.planned": "未开始",
    "phase.open": "进行中",
    "phase.closed": "已结束",
    "header.opened": "开始",
    "header.closed": "结束",
    "header.clock": "当前",
    "header.action": "行动",
    "header.user": "{name}（{role}）",
    "conn.connecting": "连接中…",
    "conn.open": "实时",
    "conn.reconnecting": "重新连接中…",
    "conn.offline": "网络已断开",
    "conn.idle": "未连接",
    "kpi.sampled": "已采样",
    "kpi.target": "应采",
    "kpi.exempt": "豁免",
    "kpi.exemptHint": "外出等",
    "kpi.missing": "未检",
    "kpi.scans": "扫码 {n} 次",
    "kpi.completion": "完成率",
    "kpi.completionHint": "（已采样 + 豁免）÷ 应采",
    "kpi.rate": "采样速度",
    "kpi.rate5": "近 5 分钟",
    "kpi.rate15": "近 15 分钟",
    "kpi.perMin": "人/分",
    "kpi.eta": "预计完成",
    "kpi.etaIn": "约 {n} 分钟后",
    "kpi.etaInDays": "按目前速度要 {n} 天以上",
    "kpi.etaNone": "按近 15 分钟速度估算",
    "chart.title": "累计采样",
    "chart.target": "应采 {n}",
    "chart.empty": "尚无采样",
    "points.title": "采集点",
    "points.name": "采集点",
    "points.place": "位置",
    "points.count": "采样数",
    "points.rate5": "5 分钟速度",
    "points.rate15": "15 分钟速度",
    "points.last": "最后扫码",
    "points.atHome": "上门采样",
    "points.head5": "近 5 分钟",
    "points.head15": "近 15 分钟",
    "points.empty": "没有采集点",
    "tree.title": "网格进度",
    "tree.hint": "完成率最低的排在前面",
    "tree.exempt": "豁免 {n}",
    "tree.expand": "展开",
    "tree.collapse": "收起",
    "tree.empty": "没有网格",
    "staff.title": "各网格员未检人数",
    "staff.hint": "未检最多的排在前面",
    "staff.allDone": "全部完成",
    "staff.more": "另有 {n} 位网格员，名下共 {missing} 人未检",
    // The chase: what grid members learned about the missing, in the words on their phones.
    "chase.lead": "未检 {n} 人：",
    "chase.notified": "已通知 {n}",
    "chase.on_the_way": "在路上 {n}",
    "chase.away": "外出 {n}",
    "chase.bedridden": "卧床 {n}（待上门 {pending}）",
    "chase.bedriddenTaken": "卧床 {n}（待上门 {pending}，医护已接 {taken}）",
    "chase.refused": "拒绝 {n}",
    "chase.unreachable": "联系不上 {n}",
    "chase.nobody_home": "无人在家 {n}",
    "chase.not_reached": "尚未联系 {n}",
    "chaseShort.notified": "已通知 {n}",
    "chaseShort.on_the_way": "在路上 {n}",
    "chaseShort.away": "外出 {n}",
    "chaseShort.bedridden": "卧床 {n}（待上门 {pending}）",
    "chaseShort.bedriddenNone": "卧床 {n}",
    "chaseShort.refused": "拒绝 {n}",
    "chaseShort.unreachable": "联系不上 {n}",
    "chaseShort.nobody_home": "无人在家 {n}",
    "chaseShort.not_reached": "尚未联系 {n}",
    "tree.more": "另有 {n} 个网格未列出，完成率都不低于上面同级的网格",
    "visits.title": "上门采样请求 {n} 个",
    "visits.hint": "超过 {n} 分钟没人接的标红",
    "visits.nobody": "没人接",
    "visits.waited": "已等 {n} 分钟",
    "visits.justNow": "刚提出",
    "visits.taken": "医护 {name} {time} 已接",
    "visits.takenNoName": "医护 {time} 已接",
    "visits.call": "打电话给 {name}",
    "visits.more": "另有 {n} 个请求未列出（其中医护已接 {taken} 个）",
    "point.samples": "已采样人次",
    "point.atHome": "其中上门采样 {n} 人次",
    "point.noScan": "还没有扫码",
    "time.justNow": "刚刚",
    "time.minutesAgo": "{n} 分钟前",
    "notice.loading": "加载中…",
    "notice.authTitle": "请先登录",
    "notice.authBody": "手机：用总网格长或管理员发给您的配对码（配对卡上的二维码）绑定这部手机，一次即可。电脑：用手机号和管理员设的密码登录。",
    "notice.pairLink": "我有配对码",
    "notice.loginLink": "用手机号和密码登录",
    "notice.forbiddenTitle": "没有权限",
    "notice.forbiddenBody": "您的账号不能查看指挥中心，请联系总网格长。",
    "notice.noActionsTitle": "还没有行动",
    "notice.noActionsBody": "行动创建后，本页会显示它的实时进度。",
    "notice.actionMissingTitle": "找不到行动",
    "notice.actionMissingBody": "没有编号为 {id} 的行动，请检查链接。",
    "notice.errorTitle": "无法连接服务器",
    "notice.errorBody": "{s} 秒后重试…",
    "role.admin": "管理员",
    "role.chief": "总网格长",
    "role.grid_head": "网格长",
    "role.grid_member": "网格员",
    "role.operator": "采样点操作员",
    "role.medic": "医护",
    "role.viewer": "查看者",
    // ---- the staff-account pages: pair.html, login.html, admin.html
    "common.signOut": "退出登录",
    "common.commandCentre": "指挥中心",
    "common.phoneMember": "我的住户",
    "common.phoneHead": "我的网格",
    "common.phoneMedic": "上门采样",
    "common.admin": "账号管理",
    "common.import": "导入花名册",
    "common.signIn": "登录",
    "common.signOutConfirm": "退出登录后，这部手机或电脑要用新的配对码或密码才能再登录。确定退出吗？",
    "common.cancel": "取消",
    "common.ok": "确定",
    "common.close": "关闭",
    "common.print": "打印",
    "common.refresh": "刷新",
    "common.none": "—",
    "wait.seconds": "{n} 秒",
    "wait.minutes": "{n} 分钟",
    "err.network": "连不上服务器。请检查手机网络或 Wi-Fi，再试一次。",
    "err.tooMany": "试的次数太多了，请等 {wait}后再试。",
    "err.tooManyNoWait": "试的次数太多了，请稍等几分钟再试。",
    "err.generic": "出错了（HTTP {status}），请稍后再试。",
    "err.pairing_code_invalid": "这个配对码不能用：可能已经用过、已过期或输错了。",
    "err.sign_in_failed": "手机号或密码不对。",
    "err.unauthorized": "登录已失效，请重新登录。",
    "err.forbidden": "您的账号没有这个权限。",
    "err.storage_unavailable": "服务器暂时不可用，请稍后再试。",
    "err.internal": "服务器出错了，请稍后再试。",
    "setup.pageTitle": "第一位管理员 · Muster",
    "setup.title": "设置第一位管理员",
    "setup.intro": "这个数据库还没有管理员。填上您的姓名和手机号，您就是管理员：之后在“账号管理”里导入花名册、给大家发配对码。",
    "setup.name": "姓名",
    "setup.phone": "手机号",
    "setup.button": "成为管理员",
    "setup.errorTitle": "没有设置成功",
    "setup.doneTitle": "您是管理员了",
    "setup.network": "连不上服务器。网络好了以后，再点一次按钮。",
    "setup.codeSpent": "这个设置链接已经用过或已失效。已有管理员的，请管理员给您发配对码；没有的，重启 muster serve 会打印新的链接。",
    "pair.pageTitle": "绑定手机 · Muster",
    "pair.title": "绑定手机",
    "pair.intro": "用这个配对码，把这部手机绑定到您的账号。",
    "pair.codeLabel": "配对码",
    "pair.codeHint": "输入总网格长给您的 8 位配对码，例如 ABCD-EFGH",
    "pair.codeBad": "配对码是 8 个字母或数字，例如 ABCD-EFGH。",
    "pair.button": "绑定此手机",
    "pair.working": "正在绑定…",
    "pair.current": "这部手机现在绑定的是：{name}（{role}）",
    "pair.errorTitle": "没有绑定成功",
    "pair.askChief": "请找总网格长要一个新的配对码，再扫一次。",
    "pair.checkNetwork": "网络好了以后，再点一次上面的按钮。",
    "pair.otherCode": "输入别的配对码",
    "pair.doneTitle": "绑定成功",
    "pair.alreadyTitle": "这部手机已经绑定好了",
    "pair.doneBody": "这部手机已绑定为：",
    "pair.go": "开始使用",
    "pair.goAdmin": "账号管理",
    "pair.goLab": "打开检测结果录入",
    "pair.noStorage": "这个浏览器不能保存登录（可能开了无痕模式）。请换手机自带的浏览器打开二维码。",
    "pair.notYou": "不是您的名字？请找总网格长要一个新的配对码。",
    "login.pageTitle": "登录 · Muster",
    "login.title": "登录 Muster",
    "login.phone": "手机号",
    "login.password": "密码",
    "login.submit": "登录",
    "login.working": "正在登录…",
    "login.missing": "请填写手机号和密码。",
    "login.done": "已登录，正在打开…",
    "login.pairHint": "用手机？请扫描总网格长给您的配对二维码，不需要密码。",
    "admin.pageTitle": "账号管理 · Muster",
    "admin.title": "Muster 账号管理",
    "admin.tabStaff": "人员",
    "admin.tabSheet": "打印配对单",
    "admin.tabAudit": "操作记录",
    "admin.signInTitle": "请先登录",
    "admin.signInBody": "还没有登录，或者登录已失效。",
    "admin.signInLink": "去登录",
    "admin.noAccessTitle": "没有权限",
    "admin.noAccessBody": "账号管理只对管理员和总网格长开放。您的角色是：{role}。",
    "admin.filter": "筛选",
    "admin.filterHint": "姓名、网格或手机号",
    "admin.count": "共 {n} 人",
    "admin.countFiltered": "显示 {shown} 人，共 {n} 人",
    "import.signInBody": "导入花名册要由管理员或总网格长登录后操作。",
    "import.noAccessBody": "导入花名册只对管理员和总网格长开放。您的角色是：{role}。",
    "import.unreachable": "连不上服务器。请检查网络，再刷新本页。",
    // ---- the lab's page: lab.html (检测机构: tubes and results, never people)
    "common.lab": "检测结果",
    "role.lab": "检测机构",
    "lab.pageTitle": "检测结果 · Muster",
    "lab.title": "检测结果录入",
    "lab.action": "行动",
    "lab.signInBody": "录入检测结果要由检测机构、总网格长或管理员登录后操作。",
    "lab.noAccessBody": "检测结果只由检测机构、总网格长和管理员录入。您的角色是：{role}。",
    "lab.unreachable": "连不上服务器。请检查网络，再刷新本页。",
    "lab.noActionsBody": "还没有行动：行动开始、试管送到后，这里列出待录结果的试管。",
    "lab.oneTitle": "录入一管结果",
    "lab.codeLabel": "试管编码（扫码枪扫条码，或手动输入后按回车）",
    "lab.find": "查找",
    "lab.codeBad": "“{code}”不是试管编码：只含字母、数字和 - _ . /。请重新扫码。",
    "lab.noSuchTube": "本次行动里没有编码为 {code} 的试管。请核对条码，或确认是不是另一次行动的试管。",
    "lab.tubeAt": "{point} · {n} 人（{size}合1）",
    "lab.closed": "已封管",
    "lab.open": "采样中（未封管）",
    "lab.openedAt": "{time} 开管",
    "lab.tagWaiting": "待录结果",
    "lab.alreadyEntered": "结果已录入，不能再改；如有错误请联系总网格长。",
    "lab.negative": "阴性",
    "lab.positive": "阳性",
    "lab.confirmNegative": "确认试管 {code} 的结果为 阴性？",
    "lab.confirmNegativeYes": "确认录入阴性",
    "lab.confirmPositive": "试管 {code} 为 阳性？录入后，这管的 {n} 人会立即被标记为“待隔离、单管复核”，显示在他们网格员的手机和指挥中心上。",
    "lab.confirmPositiveYes": "是阳性，继续",
    "lab.confirmPositiveAgain": "请再次核对：试管 {code} 是 阳性。录入后不能更改。",
    "lab.confirmPositiveAgainYes": "再次确认，录入阳性",
    "lab.sending": "录入中…",
    "lab.recordedNegative": "已录入：{code} 阴性。",
    "lab.recordedPositive": "已录入：{code} 阳性。这管 {n} 人已标记为待隔离、单管复核。",
    "lab.notRecorded": "没有录入：{why}",
    "lab.sheetTitle": "上传结果表",
    "lab.sheetHint": "Excel（.xlsx）或 CSV（UTF-8 或 GBK），两列：试管编码、检测结果（阴性/阳性）。选好文件会先检查，没有问题再点“录入”。有任何问题时一个结果都不会录入。",
    "lab.pickFile": "选择结果文件",
    "lab.noFile": "还没有选文件",
    "lab.checking": "检查中…",
    "lab.checked": "检查通过，还没有录入：可录入 {n} 管，全部阴性；{repeats} 行已录过，不再重复录入。",
    "lab.checkedWithPositives": "检查通过，还没有录入：可录入 {n} 管，其中阳性 {p} 管（{codes}）；{repeats} 行已录过，不再重复录入。",
    "lab.checkedNothingNew": "这张表的结果都已录入过（{repeats} 行），没有新的结果。",
    "lab.recordSheet": "录入这 {n} 管结果",
    "lab.recordSheetPositive": "录入这 {n} 管结果（含阳性 {p} 管）",
    "lab.recording": "录入中…",
    "lab.sheetRecorded": "已录入 {n} 管结果，全部阴性；{repeats} 行已录过，未重复录入。",
    "lab.sheetRecordedWithPositives": "已录入 {n} 管结果，其中阳性 {p} 管：{codes}。这些管的人员已标记为待隔离、单管复核。{repeats} 行已录过，未重复录入。",
    "lab.sheetInvalid": "发现 {n} 个问题，一个结果都没有录入。请在表格中改正后重新选择文件。",
    "lab.pSheet": "工作表",
    "lab.pRow": "行",
    "lab.pColumn": "列",
    "lab.pValue": "内容",
    "lab.pProblem": "问题",
    "lab.pFix": "如何修改",
    "lab.blank": "（空）",
    "lab.waitingTitle": "待录结果",
    "lab.countWaiting": "待录 {n} 管",
    "lab.countOpen": "采样中 {n} 管",
    "lab.countNegative": "阴性 {n}",
    "lab.countPositive": "阳性 {n}",
    "lab.colCode": "试管编码",
    "lab.colPoint": "采样点",
    "lab.colCount": "人数",
    "lab.colOpened": "开管",
    "lab.rowHint": "点一下，录入这管的结果",
    "lab.waitingNone": "没有待录结果的试管：封管后的试管会出现在这里。",
    "lab.more": "加载更多",
    "admin.noMatch": "没有符合筛选条件的人员。",
    "admin.noStaff": "还没有人员。",
    "admin.noArea": "未分配网格",
    "admin.pointGroup": "采集点 · {name}",
    "admin.pointOf": "采集点 {name}",
    "admin.col.name": "姓名",
    "admin.col.role": "角色",
    "admin.col.phone": "手机号",
    "admin.col.area": "网格 / 采集点",
    "admin.col.devices": "设备",
    "admin.col.actions": "操作",
    "admin.devices": "{n} 台",
    "admin.showDevices": "展开设备",
    "admin.hideDevices": "收起设备",
    "admin.noSessions": "还没有绑定任何设备。",
    "admin.session.device": "设备",
    "admin.session.created": "绑定时间",
    "admin.session.lastSeen": "最近使用",
    "admin.session.expires": "到期",
    "admin.thisDevice": "本机",
    "admin.expired": "已过期",
    "admin.revoke": "吊销",
    "admin.revokeConfirm": "吊销 {name} 的设备“{device}”？这台设备会立刻无法使用。",
    "admin.revokeSelf": "这是您正在使用的设备，吊销后需要重新登录。",
    "admin.revoked": "已吊销 {name} 的设备。",
    "admin.pairingCode": "生成配对码",
    "admin.pairingWorking": "生成中…",
    "admin.pairTitle": "{name} 的配对码",
    "admin.expiresAt": "有效至 {time}",
    "admin.expiresIn": "（{left}后失效）",
    "admin.hours": "{n} 小时",
    "admin.minutes": "{n} 分钟",
    "admin.pairUrl": "链接",
    "admin.qrAlt": "配对二维码",
    "admin.setPassword": "设置密码",
    "admin.tabPoints": "采样点",
    "admin.staffAdd": "添加人员",
    "admin.importLink": "导入花名册",
    "admin.staffEditTitle": "修改 {name}",
    "admin.staffNode": "负责的网格",
    "admin.staffPoint": "所在采样点",
    "admin.staffAdded": "已添加 {name}。现在可以给他/她生成配对码。",
    "admin.staffSaved": "已保存 {name}。",
    "admin.edit": "修改",
    "admin.retire": "停用",
    "admin.retireConfirm": "停用 {name}？",
    "admin.retireWarning": "他/她的手机会立刻退出登录，负责的网格交给上一级负责人。记录会保留。",
    "admin.retired": "已停用 {name}。",
    "admin.pointAdd": "添加采样点",
    "admin.pointEditTitle": "修改 {name}",
    "admin.pointNodes": "服务的网格（可多选：按住 Ctrl 点选）",
    "admin.pointSaved": "已保存采样点 {name}。",
    "admin.pointClose": "关闭",
    "admin.pointCloseConfirm": "关闭采样点 {name}？",
    "admin.pointCloseWarning": "这里的采样员需要重新分配到别的采样点。已采的记录会保留。",
    "admin.pointClosed": "已关闭采样点 {name}。",
    "admin.pointsCount": "{n} 个采样点",
    "admin.col.pointName": "名称",
    "admin.col.place": "地点",
    "admin.col.serves": "服务网格",
    "admin.col.operators": "采样员",
    "admin.passwordTitle": "为 {name} 设置新密码",
    "admin.passwordLabel": "新密码（至少 10 个字符）",
    "admin.passwordShow": "显示密码",
    "admin.passwordShort": "密码至少需要 10 个字符。",
    "admin.passwordSave": "保存",
    "admin.passwordSaved": "已为 {name} 设置新密码。",
    "admin.sheetHint": "为所选网格（含下级网格）中的每个人生成一个新的配对码，打印成 A4 卡片，每页 8 张。",
    "admin.sheetNode": "网格",
    "admin.sheetPeople": "{n} 人",
    "admin.sheetPrint": "打印本网格配对单",
    "admin.sheetReprint": "再次打印",
    "admin.sheetProgress": "正在生成配对码 {i} / {n}：{name}",
    "admin.sheetWaiting": "服务器要求等待 {wait}…",
    "admin.sheetDone": "已生成 {n} 张配对卡。",
    "admin.sheetFailed": "{n} 人没有生成配对码：",
    "admin.sheetEmpty": "这个网格里没有人员。",
    "admin.sheetHeading": "{node} · 配对单",
    "admin.sheetPrinted": "生成于 {time} · 每人一张，剪开后发给本人",
    "admin.auditEmpty": "还没有记录。",
    "admin.auditMore": "加载更多",
    "admin.col.time": "时间",
    "admin.col.who": "操作人",
    "admin.col.what": "操作",
    "admin.col.detail": "详情",
    "audit.read_phones": "查看完整手机号",
    "audit.pairing_code": "生成配对码",
    "audit.revoke_session": "吊销设备",
    "audit.set_password": "设置密码",
    // Printed on every pairing card: the card goes to a grid member, so it stays in Chinese.
    "card.how": "用手机扫码，点“绑定此手机”",
  },
  en: {
    "app.title": "Muster command centre",
    "phase.planned": "Not started",
    "phase.open": "In progress",
    "phase.closed": "Finished",
    "header.opened": "Opened",
    "header.closed": "Closed",
    "header.clock": "Now",
    "header.action": "Action",
    "header.user": "{name} ({role})",
    "conn.connecting": "Connecting…",
    "conn.open": "Live",
    "conn.reconnecting": "Reconnecting…",
    "conn.offline": "Offline",
    "conn.idle": "Not connected",
    "kpi.sampled": "Sampled",
    "kpi.target": "Target",
    "kpi.exempt": "Exempt",
    "kpi.exemptHint": "away etc.",
    "kpi.missing": "Missing",
    "kpi.scans": "{n} scans",
    "kpi.completion": "Complete",
    "kpi.completionHint": "(sampled + exempt) ÷ target",
    "kpi.rate": "Rate",
    "kpi.rate5": "last 5 min",
    "kpi.rate15": "last 15 min",
    "kpi.perMin": "/min",
    "kpi.eta": "Expected finish",
    "kpi.etaIn": "in about {n} min",
    "kpi.etaInDays": "{n}+ days at this pace",
    "kpi.etaNone": "at the 15-minute rate",
    "chart.title": "Cumulative samples",
    "chart.target": "Target {n}",
    "chart.empty": "No samples yet",
    "points.title": "Sampling points",
    "points.name": "Point",
    "points.place": "Place",
    "points.count": "Samples",
    "points.rate5": "Rate 5 min",
    "points.rate15": "Rate 15 min",
    "points.last": "Last scan",
    "points.atHome": "At home",
    "points.head5": "5 min",
    "points.head15": "15 min",
    "points.empty": "No sampling points",
    "tree.title": "Progress by grid",
    "tree.hint": "Lowest completion first",
    "tree.exempt": "exempt {n}",
    "tree.expand": "Expand",
    "tree.collapse": "Collapse",
    "tree.empty": "No grids",
    "staff.title": "Missing by grid member",
    "staff.hint": "Most missing first",
    "staff.allDone": "All done",
    "staff.more": "{n} more staff, {missing} of their residents missing",
    "chase.lead": "{n} missing:",
    "chase.notified": "{n} notified",
    "chase.on_the_way": "{n} on the way",
    "chase.away": "{n} away",
    "chase.bedridden": "{n} bedridden ({pending} waiting for a visit)",
    "chase.bedriddenTaken": "{n} bedridden ({pending} waiting for a visit, {taken} taken by a medic)",
    "chase.refused": "{n} refused",
    "chase.unreachable": "{n} unreachable",
    "chase.nobody_home": "{n} nobody home",
    "chase.not_reached": "{n} not yet reached",
    "chaseShort.notified": "notified {n}",
    "chaseShort.on_the_way": "coming {n}",
    "chaseShort.away": "away {n}",
    "chaseShort.bedridden": "bedridden {n} ({pending} waiting)",
    "chaseShort.bedriddenNone": "bedridden {n}",
    "chaseShort.refused": "refused {n}",
    "chaseShort.unreachable": "unreachable {n}",
    "chaseShort.nobody_home": "nobody home {n}",
    "chaseShort.not_reached": "not reached {n}",
    "tree.more": "{n} more grids not listed, none further behind than those above",
    "visits.title": "Home-visit requests: {n}",
    "visits.hint": "red: nobody took it within {n} min",
    "visits.nobody": "nobody has taken it",
    "visits.waited": "waiting {n} min",
    "visits.justNow": "just asked",
    "visits.taken": "taken by {name} at {time}",
    "visits.takenNoName": "taken by a medic at {time}",
    "visits.call": "Call {name}",
    "visits.more": "{n} more requests not listed ({taken} of them taken)",
    "point.samples": "Samples taken here",
    "point.atHome": "{n} of them at home",
    "point.noScan": "no scan yet",
    "time.justNow": "just now",
    "time.minutesAgo": "{n} min ago",
    "notice.loading": "Loading…",
    "notice.authTitle": "Please sign in",
    "notice.authBody": "On a phone: bind it once with the pairing code (the QR code on your pairing card) the chief or admin gave you. At a computer: sign in with your phone number and the password the admin set.",
    "notice.pairLink": "I have a pairing code",
    "notice.loginLink": "Sign in with phone and password",
    "notice.forbiddenTitle": "Not allowed",
    "notice.forbiddenBody": "Your account cannot open the command centre; ask the chief.",
    "notice.noActionsTitle": "No actions yet",
    "notice.noActionsBody": "Once an action is created this page shows its live progress.",
    "notice.actionMissingTitle": "Action not found",
    "notice.actionMissingBody": "There is no action number {id}; check the link.",
    "notice.errorTitle": "Cannot reach the server",
    "notice.errorBody": "Retrying in {s} s…",
    "role.admin": "admin",
    "role.chief": "chief",
    "role.grid_head": "grid head",
    "role.grid_member": "grid member",
    "role.operator": "point operator",
    "role.medic": "medic",
    "role.viewer": "viewer",
    // ---- the staff-account pages: pair.html, login.html, admin.html
    "common.signOut": "Sign out",
    "common.commandCentre": "Command centre",
    "common.phoneMember": "My households",
    "common.phoneHead": "My grids",
    "common.phoneMedic": "Home visits",
    "common.admin": "Staff accounts",
    "common.import": "Import roster",
    "common.signIn": "Sign in",
    "common.signOutConfirm": "After signing out, this phone or computer needs a new pairing code or the password to sign in again. Sign out?",
    "common.cancel": "Cancel",
    "common.ok": "OK",
    "common.close": "Close",
    "common.print": "Print",
    "common.refresh": "Refresh",
    "common.none": "—",
    "wait.seconds": "{n} s",
    "wait.minutes": "{n} min",
    "err.network": "Cannot reach the server. Check the mobile data or Wi-Fi and try again.",
    "err.tooMany": "Too many attempts. Try again in {wait}.",
    "err.tooManyNoWait": "Too many attempts. Wait a few minutes and try again.",
    "err.generic": "Something went wrong (HTTP {status}). Try again shortly.",
    "err.pairing_code_invalid": "This pairing code cannot be used: it was used already, has expired or was mistyped.",
    "err.sign_in_failed": "Wrong phone number or password.",
    "err.unauthorized": "Your sign-in has expired; sign in again.",
    "err.forbidden": "Your account may not do this.",
    "err.storage_unavailable": "The server is unavailable for a moment; try again shortly.",
    "err.internal": "The server had a problem; try again shortly.",
    "setup.pageTitle": "First administrator · Muster",
    "setup.title": "Set up the first administrator",
    "setup.intro": "This database has no administrator yet. Give your name and mobile number and you are it: then import the roster and hand out pairing codes under “Staff accounts”.",
    "setup.name": "Name",
    "setup.phone": "Mobile number",
    "setup.button": "Become the administrator",
    "setup.errorTitle": "Not set up",
    "setup.doneTitle": "You are the administrator",
    "setup.network": "The server cannot be reached. When the connection is back, press the button again.",
    "setup.codeSpent": "This setup link was used already or is no longer valid. If there is an administrator, ask them for a pairing code; if not, restarting muster serve prints a new link.",
    "pair.pageTitle": "Set up this phone · Muster",
    "pair.title": "Set up this phone",
    "pair.intro": "Use this pairing code to link this phone to your account.",
    "pair.codeLabel": "Pairing code",
    "pair.codeHint": "Enter the 8-character code from the chief, e.g. ABCD-EFGH",
    "pair.codeBad": "A pairing code is 8 letters or digits, e.g. ABCD-EFGH.",
    "pair.button": "Use this phone",
    "pair.working": "Setting up…",
    "pair.current": "This phone is set up for: {name} ({role})",
    "pair.errorTitle": "Not set up",
    "pair.askChief": "Ask the chief for a new pairing code and scan it again.",
    "pair.checkNetwork": "When the connection is back, press the button above again.",
    "pair.otherCode": "Enter a different code",
    "pair.doneTitle": "Phone set up",
    "pair.alreadyTitle": "This phone is already set up",
    "pair.doneBody": "This phone now belongs to:",
    "pair.go": "Start",
    "pair.goAdmin": "Staff accounts",
    "pair.goLab": "Open lab results",
    "pair.noStorage": "This browser cannot keep the sign-in (private mode?). Open the QR code in the phone's own browser.",
    "pair.notYou": "Not your name? Ask the chief for a new pairing code.",
    "login.pageTitle": "Sign in · Muster",
    "login.title": "Sign in to Muster",
    "login.phone": "Phone number",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.working": "Signing in…",
    "login.missing": "Enter the phone number and the password.",
    "login.done": "Signed in, opening…",
    "login.pairHint": "On a phone? Scan the pairing QR code from the chief; no password needed.",
    "admin.pageTitle": "Staff accounts · Muster",
    "admin.title": "Muster staff accounts",
    "admin.tabStaff": "Staff",
    "admin.tabSheet": "Pairing sheet",
    "admin.tabAudit": "Audit log",
    "admin.signInTitle": "Please sign in",
    "admin.signInBody": "You are not signed in, or your sign-in has expired.",
    "admin.signInLink": "Sign in",
    "admin.noAccessTitle": "Not allowed",
    "admin.noAccessBody": "Staff accounts are for admins and the chief only. Your role: {role}.",
    "admin.filter": "Filter",
    "admin.filterHint": "name, grid or phone",
    "admin.count": "{n} staff",
    "admin.countFiltered": "{shown} of {n} staff",
    "import.signInBody": "Importing the roster needs an administrator or the chief to sign in.",
    "import.noAccessBody": "Only administrators and the chief may import the roster. Your role: {role}.",
    "import.unreachable": "Cannot reach the server. Check the network, then reload this page.",
    // ---- the lab's page: lab.html (the lab: tubes and results, never people)
    "common.lab": "Lab results",
    "role.lab": "lab",
    "lab.pageTitle": "Lab results · Muster",
    "lab.title": "Enter lab results",
    "lab.action": "Action",
    "lab.signInBody": "Entering results needs the lab, the chief or an administrator to sign in.",
    "lab.noAccessBody": "Results are entered by the lab, the chief and administrators only. Your role: {role}.",
    "lab.unreachable": "Cannot reach the server. Check the network, then reload this page.",
    "lab.noActionsBody": "No actions yet: once an action runs and tubes arrive, those waiting for a result are listed here.",
    "lab.oneTitle": "One tube's result",
    "lab.codeLabel": "Tube code (scan the barcode, or type it and press Enter)",
    "lab.find": "Find",
    "lab.codeBad": "“{code}” is not a tube code: letters, digits and - _ . / only. Scan it again.",
    "lab.noSuchTube": "This action has no tube {code}. Check the barcode, or whether the tube is from another action.",
    "lab.tubeAt": "{point} · {n} people ({size} in 1)",
    "lab.closed": "closed",
    "lab.open": "still filling (not closed)",
    "lab.openedAt": "opened {time}",
    "lab.tagWaiting": "waiting for a result",
    "lab.alreadyEntered": "The result is entered and cannot be changed; if it is wrong, ask the chief.",
    "lab.negative": "Negative",
    "lab.positive": "Positive",
    "lab.confirmNegative": "Record tube {code} as negative?",
    "lab.confirmNegativeYes": "Record negative",
    "lab.confirmPositive": "Tube {code} positive? Its {n} people are flagged at once “to isolate and re-test single-tube”, on their grid members' phones and the command centre.",
    "lab.confirmPositiveYes": "Positive, go on",
    "lab.confirmPositiveAgain": "Check once more: tube {code} is positive. It cannot be changed afterwards.",
    "lab.confirmPositiveAgainYes": "Confirm again: record positive",
    "lab.sending": "Recording…",
    "lab.recordedNegative": "Recorded: {code} negative.",
    "lab.recordedPositive": "Recorded: {code} positive. Its {n} people are flagged to isolate and re-test single-tube.",
    "lab.notRecorded": "Not recorded: {why}",
    "lab.sheetTitle": "Upload a results sheet",
    "lab.sheetHint": "Excel (.xlsx) or CSV (UTF-8 or GBK) with two columns: 试管编码 (tube code) and 检测结果 (result: 阴性/阳性). A chosen file is checked first; press “Record” when it has no problems. With any problem, no result is recorded.",
    "lab.pickFile": "Choose a results file",
    "lab.noFile": "No file chosen yet",
    "lab.checking": "Checking…",
    "lab.checked": "Checked, nothing recorded yet: {n} tube(s) to record, all negative; {repeats} row(s) already entered are not entered again.",
    "lab.checkedWithPositives": "Checked, nothing recorded yet: {n} tube(s) to record, {p} positive ({codes}); {repeats} row(s) already entered are not entered again.",
    "lab.checkedNothingNew": "Every result in this sheet is entered already ({repeats} row(s)): nothing new.",
    "lab.recordSheet": "Record these {n} results",
    "lab.recordSheetPositive": "Record these {n} results ({p} positive)",
    "lab.recording": "Recording…",
    "lab.sheetRecorded": "Recorded {n} result(s), all negative; {repeats} row(s) already entered were not entered again.",
    "lab.sheetRecordedWithPositives": "Recorded {n} result(s), {p} positive: {codes}. Their people are flagged to isolate and re-test single-tube. {repeats} row(s) already entered were not entered again.",
    "lab.sheetInvalid": "{n} problem(s) found; no result was recorded. Fix them in the sheet and choose the file again.",
    "lab.pSheet": "Sheet",
    "lab.pRow": "Row",
    "lab.pColumn": "Column",
    "lab.pValue": "Cell",
    "lab.pProblem": "Problem",
    "lab.pFix": "How to fix",
    "lab.blank": "(blank)",
    "lab.waitingTitle": "Waiting for a result",
    "lab.countWaiting": "{n} waiting",
    "lab.countOpen": "{n} still filling",
    "lab.countNegative": "{n} negative",
    "lab.countPositive": "{n} positive",
    "lab.colCode": "Tube code",
    "lab.colPoint": "Point",
    "lab.colCount": "People",
    "lab.colOpened": "Opened",
    "lab.rowHint": "Click to enter this tube's result",
    "lab.waitingNone": "No tube is waiting for a result: closed tubes appear here.",
    "lab.more": "More",
    "admin.noMatch": "Nobody matches the filter.",
    "admin.noStaff": "No staff yet.",
    "admin.noArea": "No area",
    "admin.pointGroup": "Sampling point · {name}",
    "admin.pointOf": "point {name}",
    "admin.col.name": "Name",
    "admin.col.role": "Role",
    "admin.col.phone": "Phone",
    "admin.col.area": "Grid / point",
    "admin.col.devices": "Devices",
    "admin.col.actions": "Actions",
    "admin.devices": "{n}",
    "admin.showDevices": "Show devices",
    "admin.hideDevices": "Hide devices",
    "admin.noSessions": "No device set up yet.",
    "admin.session.device": "Device",
    "admin.session.created": "Set up",
    "admin.session.lastSeen": "Last used",
    "admin.session.expires": "Expires",
    "admin.thisDevice": "this device",
    "admin.expired": "expired",
    "admin.revoke": "Revoke",
    "admin.revokeConfirm": "Revoke {name}'s device “{device}”? It stops working at once.",
    "admin.revokeSelf": "This is the device you are using: you will have to sign in again.",
    "admin.revoked": "{name}'s device was revoked.",
    "admin.pairingCode": "Pairing code",
    "admin.pairingWorking": "Making…",
    "admin.pairTitle": "Pairing code for {name}",
    "admin.expiresAt": "Valid until {time}",
    "admin.expiresIn": " ({left} left)",
    "admin.hours": "{n} h",
    "admin.minutes": "{n} min",
    "admin.pairUrl": "Link",
    "admin.qrAlt": "Pairing QR code",
    "admin.setPassword": "Set password",
    "admin.tabPoints": "Sampling points",
    "admin.staffAdd": "Add a person",
    "admin.importLink": "Import the roster",
    "admin.staffEditTitle": "Change {name}",
    "admin.staffNode": "Area they answer for",
    "admin.staffPoint": "Sampling point",
    "admin.staffAdded": "{name} added. You can make their pairing code now.",
    "admin.staffSaved": "{name} saved.",
    "admin.edit": "Change",
    "admin.retire": "Take off duty",
    "admin.retireConfirm": "Take {name} off duty?",
    "admin.retireWarning": "Their phone is signed out at once; their area passes to the person above. The records stay.",
    "admin.retired": "{name} is off duty.",
    "admin.pointAdd": "Add a sampling point",
    "admin.pointEditTitle": "Change {name}",
    "admin.pointNodes": "Areas served (several: hold Ctrl and click)",
    "admin.pointSaved": "Sampling point {name} saved.",
    "admin.pointClose": "Close",
    "admin.pointCloseConfirm": "Close sampling point {name}?",
    "admin.pointCloseWarning": "Its operators need another point. The samples taken stay recorded.",
    "admin.pointClosed": "Sampling point {name} closed.",
    "admin.pointsCount": "{n} sampling points",
    "admin.col.pointName": "Name",
    "admin.col.place": "Place",
    "admin.col.serves": "Areas served",
    "admin.col.operators": "Operators",
    "admin.passwordTitle": "New password for {name}",
    "admin.passwordLabel": "New password (at least 10 characters)",
    "admin.passwordShow": "Show password",
    "admin.passwordShort": "The password needs at least 10 characters.",
    "admin.passwordSave": "Save",
    "admin.passwordSaved": "New password set for {name}.",
    "admin.sheetHint": "Makes a new pairing code for everyone in the chosen grid (and the grids under it) and prints them as A4 cards, 8 per page.",
    "admin.sheetNode": "Grid",
    "admin.sheetPeople": "{n} staff",
    "admin.sheetPrint": "Print pairing sheet",
    "admin.sheetReprint": "Print again",
    "admin.sheetProgress": "Making pairing code {i} of {n}: {name}",
    "admin.sheetWaiting": "The server asks us to wait {wait}…",
    "admin.sheetDone": "{n} pairing cards made.",
    "admin.sheetFailed": "No code for {n} staff:",
    "admin.sheetEmpty": "Nobody in this grid.",
    "admin.sheetHeading": "{node} · pairing sheet",
    "admin.sheetPrinted": "Made at {time} · one card each; cut and hand out",
    "admin.auditEmpty": "Nothing recorded yet.",
    "admin.auditMore": "More",
    "admin.col.time": "Time",
    "admin.col.who": "Who",
    "admin.col.what": "What",
    "admin.col.detail": "Detail",
    "audit.read_phones": "read full phone numbers",
    "audit.pairing_code": "pairing code made",
    "audit.revoke_session": "device revoked",
    "audit.set_password": "password set",
    // Printed on every pairing card: the card goes to a grid member, so it stays in Chinese.
    "card.how": "用手机扫码，点“绑定此手机”",
  },
};

let lang = readStoredLang();

function readStoredLang() {
  try {
    const stored = localStorage.getItem(LANG_KEY);
    return LANGS.includes(stored) ? stored : DEFAULT_LANG;
  } catch {
    // Storage can be disabled (private mode, locked-down kiosk): fall back quietly.
    return DEFAULT_LANG;
  }
}

export function getLang() {
  return lang;
}

/** Switches language, remembers it and sets `<html lang>` so fonts and screen readers follow. */
export function setLang(next) {
  if (!LANGS.includes(next)) return;
  lang = next;
  try {
    localStorage.setItem(LANG_KEY, next);
  } catch {
    // Not remembered, but still switched for this visit.
  }
  document.documentElement.lang = next;
}

/** The text for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = TABLES[lang][key] ?? TABLES[DEFAULT_LANG][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** Fills every `data-i18n="key"` element's text under `root` (the page's fixed labels). */
export function applyTranslations(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
  }
}

// Formatters are costly to build, cheap to use: keep one per language.
const cache = new Map();
function formatter(name, make) {
  const key = `${name}:${lang}`;
  if (!cache.has(key)) cache.set(key, make(lang));
  return cache.get(key);
}

export function fmtInt(n) {
  return formatter("int", (l) => new Intl.NumberFormat(l, { maximumFractionDigits: 0 })).format(n);
}

/** A per-minute rate: one decimal, so 0.4/min at a quiet point does not read as 0. */
export function fmtRate(x) {
  return formatter("rate", (l) => new Intl.NumberFormat(l, { minimumFractionDigits: 1, maximumFractionDigits: 1 })).format(x);
}

/**
 * A share as a percentage with one decimal, rounded down: 2675 of 2676 must not read
 * "100.0 %" while one resident is still missing.
 */
export function fmtPercent(ratio) {
  const floored = Math.floor(Math.max(0, ratio) * 1000) / 1000;
  return formatter("pct", (l) => new Intl.NumberFormat(l, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 })).format(floored);
}

/** A Date from an RFC 3339 string, a Date, or unix seconds; null when there is none. */
export function toDate(value) {
  if (value == null || value === "") return null;
  if (value instanceof Date) return value;
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function timeFormat(name, options) {
  return formatter(name, (l) => new Intl.DateTimeFormat(l, { timeZone: TIME_ZONE, hourCycle: "h23", ...options }));
}

/** HH:MM in Asia/Shanghai, or "—" when there is no time. */
export function fmtTime(value) {
  const d = toDate(value);
  return d ? timeFormat("hm", { hour: "2-digit", minute: "2-digit" }).format(d) : "—";
}

/** HH:MM:SS in Asia/Shanghai, for the state clock, which moves second by second. */
export function fmtClock(value) {
  const d = toDate(value);
  return d ? timeFormat("hms", { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(d) : "—";
}

/** Full local date and time, for tooltips. */
export function fmtDateTime(value) {
  const d = toDate(value);
  return d
    ? timeFormat("dt", { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(d)
    : "";
}

/** "just now" / "N min ago", measured against `now` (the state clock, not the browser's). */
export function fmtAgo(value, now) {
  const d = toDate(value);
  const n = toDate(now);
  if (!d || !n) return "";
  const minutes = Math.floor((n - d) / 60000);
  return minutes < 1 ? t("time.justNow") : t("time.minutesAgo", { n: fmtInt(minutes) });
}

/** Day and time without the year or seconds ("04/22 23:36"), for device lists. */
export function fmtDayTime(value) {
  const d = toDate(value);
  return d ? timeFormat("mdhm", { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).format(d) : "—";
}

/** How long to wait, from seconds: "40 秒" under a minute, whole minutes (rounded up) above. */
export function fmtWait(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  return s < 60 ? t("wait.seconds", { n: fmtInt(s) }) : t("wait.minutes", { n: fmtInt(Math.ceil(s / 60)) });
}

/**
 * What to tell the person about a failed request. `problem` is the server's answer
 * ({ code, message }) plus `status` and `retryAfter` (seconds, from the header), or
 * `{ code: "network" }` when nothing came back. Codes we know get our own words, in the
 * page's language and saying what to do (the server's `message` is English, written for
 * a clerk); anything else shows the server's message as it is.
 */
export function problemText(problem) {
  if (problem.code === "network") return t("err.network");
  if (problem.status === 429) {
    return problem.retryAfter != null ? t("err.tooMany", { wait: fmtWait(problem.retryAfter) }) : t("err.tooManyNoWait");
  }
  const key = `err.${problem.code}`;
  const ours = t(key);
  if (ours !== key) return ours;
  return problem.message || t("err.generic", { status: problem.status });
}

/** A role's name; a role this page does not know yet is shown as the server spells it. */
export function roleLabel(role) {
  const key = `role.${role}`;
  const label = t(key);
  return label === key ? String(role ?? "") : label;
}

/**
 * Adds a page's own words to the tables (`{ "zh-CN": {…}, en: {…} }`), so a page that
 * only some people open (the phone page) does not make every other page load them.
 * Keys already here win: a page cannot change what another page says.
 */
export function addWords(tables) {
  for (const [name, words] of Object.entries(tables)) {
    if (!TABLES[name]) continue;
    for (const [key, text] of Object.entries(words)) {
      if (!(key in TABLES[name])) TABLES[name][key] = text;
    }
  }
}
