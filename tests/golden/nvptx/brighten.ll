; ModuleID = "brighten"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"brighten__map"(i64 %"n", ptr noalias readonly align 16 %"pixels", i8 %"delta", ptr noalias align 16 %"out") nounwind
{
entry:
  %"n.1" = alloca i64
  %"delta.1" = alloca i8
  %"i" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  store i64 %"n", i64* %"n.1"
  store i8 %"delta", i8* %"delta.1"
  %".8" = load i64, i64* %"n.1"
  %".9" = load i64, i64* %"n.1"
  %".10" = load i64, i64* %"n.1"
  %".11" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".12" = zext i32 %".11" to i64
  %".13" = mul i64 %".12", 4096
  %".14" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".15" = zext i32 %".14" to i64
  %".16" = mul i64 %".15", 16
  %".17" = add i64 %".13", %".16"
  %".18" = add i64 %".17", 16
  %".19" = icmp ule i64 %".18", %".10"
  br i1 %".19", label %"k.full", label %"k.part"
k.full:
  %".21" = add i64 %".17", 0
  store i64 %".21", i64* %"i"
  %".23" = load i64, i64* %"i"
  %".24" = load i64, i64* %"i"
  %".25" = getelementptr inbounds i8, ptr %"pixels", i64 %".24"
  %".26" = load i8, ptr %".25", align 1
  %".27" = load i8, i8* %"delta.1"
  %".28" = call i8 @"llvm.uadd.sat.i8"(i8 %".26", i8 %".27")
  %".29" = getelementptr inbounds i8, ptr %"out", i64 %".23"
  store i8 %".28", ptr %".29", align 1
  %".31" = add i64 %".17", 1
  store i64 %".31", i64* %"i"
  %".33" = load i64, i64* %"i"
  %".34" = load i64, i64* %"i"
  %".35" = getelementptr inbounds i8, ptr %"pixels", i64 %".34"
  %".36" = load i8, ptr %".35", align 1
  %".37" = load i8, i8* %"delta.1"
  %".38" = call i8 @"llvm.uadd.sat.i8"(i8 %".36", i8 %".37")
  %".39" = getelementptr inbounds i8, ptr %"out", i64 %".33"
  store i8 %".38", ptr %".39", align 1
  %".41" = add i64 %".17", 2
  store i64 %".41", i64* %"i"
  %".43" = load i64, i64* %"i"
  %".44" = load i64, i64* %"i"
  %".45" = getelementptr inbounds i8, ptr %"pixels", i64 %".44"
  %".46" = load i8, ptr %".45", align 1
  %".47" = load i8, i8* %"delta.1"
  %".48" = call i8 @"llvm.uadd.sat.i8"(i8 %".46", i8 %".47")
  %".49" = getelementptr inbounds i8, ptr %"out", i64 %".43"
  store i8 %".48", ptr %".49", align 1
  %".51" = add i64 %".17", 3
  store i64 %".51", i64* %"i"
  %".53" = load i64, i64* %"i"
  %".54" = load i64, i64* %"i"
  %".55" = getelementptr inbounds i8, ptr %"pixels", i64 %".54"
  %".56" = load i8, ptr %".55", align 1
  %".57" = load i8, i8* %"delta.1"
  %".58" = call i8 @"llvm.uadd.sat.i8"(i8 %".56", i8 %".57")
  %".59" = getelementptr inbounds i8, ptr %"out", i64 %".53"
  store i8 %".58", ptr %".59", align 1
  %".61" = add i64 %".17", 4
  store i64 %".61", i64* %"i"
  %".63" = load i64, i64* %"i"
  %".64" = load i64, i64* %"i"
  %".65" = getelementptr inbounds i8, ptr %"pixels", i64 %".64"
  %".66" = load i8, ptr %".65", align 1
  %".67" = load i8, i8* %"delta.1"
  %".68" = call i8 @"llvm.uadd.sat.i8"(i8 %".66", i8 %".67")
  %".69" = getelementptr inbounds i8, ptr %"out", i64 %".63"
  store i8 %".68", ptr %".69", align 1
  %".71" = add i64 %".17", 5
  store i64 %".71", i64* %"i"
  %".73" = load i64, i64* %"i"
  %".74" = load i64, i64* %"i"
  %".75" = getelementptr inbounds i8, ptr %"pixels", i64 %".74"
  %".76" = load i8, ptr %".75", align 1
  %".77" = load i8, i8* %"delta.1"
  %".78" = call i8 @"llvm.uadd.sat.i8"(i8 %".76", i8 %".77")
  %".79" = getelementptr inbounds i8, ptr %"out", i64 %".73"
  store i8 %".78", ptr %".79", align 1
  %".81" = add i64 %".17", 6
  store i64 %".81", i64* %"i"
  %".83" = load i64, i64* %"i"
  %".84" = load i64, i64* %"i"
  %".85" = getelementptr inbounds i8, ptr %"pixels", i64 %".84"
  %".86" = load i8, ptr %".85", align 1
  %".87" = load i8, i8* %"delta.1"
  %".88" = call i8 @"llvm.uadd.sat.i8"(i8 %".86", i8 %".87")
  %".89" = getelementptr inbounds i8, ptr %"out", i64 %".83"
  store i8 %".88", ptr %".89", align 1
  %".91" = add i64 %".17", 7
  store i64 %".91", i64* %"i"
  %".93" = load i64, i64* %"i"
  %".94" = load i64, i64* %"i"
  %".95" = getelementptr inbounds i8, ptr %"pixels", i64 %".94"
  %".96" = load i8, ptr %".95", align 1
  %".97" = load i8, i8* %"delta.1"
  %".98" = call i8 @"llvm.uadd.sat.i8"(i8 %".96", i8 %".97")
  %".99" = getelementptr inbounds i8, ptr %"out", i64 %".93"
  store i8 %".98", ptr %".99", align 1
  %".101" = add i64 %".17", 8
  store i64 %".101", i64* %"i"
  %".103" = load i64, i64* %"i"
  %".104" = load i64, i64* %"i"
  %".105" = getelementptr inbounds i8, ptr %"pixels", i64 %".104"
  %".106" = load i8, ptr %".105", align 1
  %".107" = load i8, i8* %"delta.1"
  %".108" = call i8 @"llvm.uadd.sat.i8"(i8 %".106", i8 %".107")
  %".109" = getelementptr inbounds i8, ptr %"out", i64 %".103"
  store i8 %".108", ptr %".109", align 1
  %".111" = add i64 %".17", 9
  store i64 %".111", i64* %"i"
  %".113" = load i64, i64* %"i"
  %".114" = load i64, i64* %"i"
  %".115" = getelementptr inbounds i8, ptr %"pixels", i64 %".114"
  %".116" = load i8, ptr %".115", align 1
  %".117" = load i8, i8* %"delta.1"
  %".118" = call i8 @"llvm.uadd.sat.i8"(i8 %".116", i8 %".117")
  %".119" = getelementptr inbounds i8, ptr %"out", i64 %".113"
  store i8 %".118", ptr %".119", align 1
  %".121" = add i64 %".17", 10
  store i64 %".121", i64* %"i"
  %".123" = load i64, i64* %"i"
  %".124" = load i64, i64* %"i"
  %".125" = getelementptr inbounds i8, ptr %"pixels", i64 %".124"
  %".126" = load i8, ptr %".125", align 1
  %".127" = load i8, i8* %"delta.1"
  %".128" = call i8 @"llvm.uadd.sat.i8"(i8 %".126", i8 %".127")
  %".129" = getelementptr inbounds i8, ptr %"out", i64 %".123"
  store i8 %".128", ptr %".129", align 1
  %".131" = add i64 %".17", 11
  store i64 %".131", i64* %"i"
  %".133" = load i64, i64* %"i"
  %".134" = load i64, i64* %"i"
  %".135" = getelementptr inbounds i8, ptr %"pixels", i64 %".134"
  %".136" = load i8, ptr %".135", align 1
  %".137" = load i8, i8* %"delta.1"
  %".138" = call i8 @"llvm.uadd.sat.i8"(i8 %".136", i8 %".137")
  %".139" = getelementptr inbounds i8, ptr %"out", i64 %".133"
  store i8 %".138", ptr %".139", align 1
  %".141" = add i64 %".17", 12
  store i64 %".141", i64* %"i"
  %".143" = load i64, i64* %"i"
  %".144" = load i64, i64* %"i"
  %".145" = getelementptr inbounds i8, ptr %"pixels", i64 %".144"
  %".146" = load i8, ptr %".145", align 1
  %".147" = load i8, i8* %"delta.1"
  %".148" = call i8 @"llvm.uadd.sat.i8"(i8 %".146", i8 %".147")
  %".149" = getelementptr inbounds i8, ptr %"out", i64 %".143"
  store i8 %".148", ptr %".149", align 1
  %".151" = add i64 %".17", 13
  store i64 %".151", i64* %"i"
  %".153" = load i64, i64* %"i"
  %".154" = load i64, i64* %"i"
  %".155" = getelementptr inbounds i8, ptr %"pixels", i64 %".154"
  %".156" = load i8, ptr %".155", align 1
  %".157" = load i8, i8* %"delta.1"
  %".158" = call i8 @"llvm.uadd.sat.i8"(i8 %".156", i8 %".157")
  %".159" = getelementptr inbounds i8, ptr %"out", i64 %".153"
  store i8 %".158", ptr %".159", align 1
  %".161" = add i64 %".17", 14
  store i64 %".161", i64* %"i"
  %".163" = load i64, i64* %"i"
  %".164" = load i64, i64* %"i"
  %".165" = getelementptr inbounds i8, ptr %"pixels", i64 %".164"
  %".166" = load i8, ptr %".165", align 1
  %".167" = load i8, i8* %"delta.1"
  %".168" = call i8 @"llvm.uadd.sat.i8"(i8 %".166", i8 %".167")
  %".169" = getelementptr inbounds i8, ptr %"out", i64 %".163"
  store i8 %".168", ptr %".169", align 1
  %".171" = add i64 %".17", 15
  store i64 %".171", i64* %"i"
  %".173" = load i64, i64* %"i"
  %".174" = load i64, i64* %"i"
  %".175" = getelementptr inbounds i8, ptr %"pixels", i64 %".174"
  %".176" = load i8, ptr %".175", align 1
  %".177" = load i8, i8* %"delta.1"
  %".178" = call i8 @"llvm.uadd.sat.i8"(i8 %".176", i8 %".177")
  %".179" = getelementptr inbounds i8, ptr %"out", i64 %".173"
  store i8 %".178", ptr %".179", align 1
  br label %"k.chunk"
k.part:
  %".182" = add i64 %".17", 0
  %".183" = icmp ult i64 %".182", %".10"
  br i1 %".183", label %"k.then", label %"k.end"
k.chunk:
  ret void
k.then:
  store i64 %".182", i64* %"i"
  %".186" = load i64, i64* %"i"
  %".187" = load i64, i64* %"i"
  %".188" = getelementptr inbounds i8, ptr %"pixels", i64 %".187"
  %".189" = load i8, ptr %".188", align 1
  %".190" = load i8, i8* %"delta.1"
  %".191" = call i8 @"llvm.uadd.sat.i8"(i8 %".189", i8 %".190")
  %".192" = getelementptr inbounds i8, ptr %"out", i64 %".186"
  store i8 %".191", ptr %".192", align 1
  br label %"k.end"
k.end:
  %".195" = add i64 %".17", 1
  %".196" = icmp ult i64 %".195", %".10"
  br i1 %".196", label %"k.then.1", label %"k.end.1"
k.then.1:
  store i64 %".195", i64* %"i"
  %".199" = load i64, i64* %"i"
  %".200" = load i64, i64* %"i"
  %".201" = getelementptr inbounds i8, ptr %"pixels", i64 %".200"
  %".202" = load i8, ptr %".201", align 1
  %".203" = load i8, i8* %"delta.1"
  %".204" = call i8 @"llvm.uadd.sat.i8"(i8 %".202", i8 %".203")
  %".205" = getelementptr inbounds i8, ptr %"out", i64 %".199"
  store i8 %".204", ptr %".205", align 1
  br label %"k.end.1"
k.end.1:
  %".208" = add i64 %".17", 2
  %".209" = icmp ult i64 %".208", %".10"
  br i1 %".209", label %"k.then.2", label %"k.end.2"
k.then.2:
  store i64 %".208", i64* %"i"
  %".212" = load i64, i64* %"i"
  %".213" = load i64, i64* %"i"
  %".214" = getelementptr inbounds i8, ptr %"pixels", i64 %".213"
  %".215" = load i8, ptr %".214", align 1
  %".216" = load i8, i8* %"delta.1"
  %".217" = call i8 @"llvm.uadd.sat.i8"(i8 %".215", i8 %".216")
  %".218" = getelementptr inbounds i8, ptr %"out", i64 %".212"
  store i8 %".217", ptr %".218", align 1
  br label %"k.end.2"
k.end.2:
  %".221" = add i64 %".17", 3
  %".222" = icmp ult i64 %".221", %".10"
  br i1 %".222", label %"k.then.3", label %"k.end.3"
k.then.3:
  store i64 %".221", i64* %"i"
  %".225" = load i64, i64* %"i"
  %".226" = load i64, i64* %"i"
  %".227" = getelementptr inbounds i8, ptr %"pixels", i64 %".226"
  %".228" = load i8, ptr %".227", align 1
  %".229" = load i8, i8* %"delta.1"
  %".230" = call i8 @"llvm.uadd.sat.i8"(i8 %".228", i8 %".229")
  %".231" = getelementptr inbounds i8, ptr %"out", i64 %".225"
  store i8 %".230", ptr %".231", align 1
  br label %"k.end.3"
k.end.3:
  %".234" = add i64 %".17", 4
  %".235" = icmp ult i64 %".234", %".10"
  br i1 %".235", label %"k.then.4", label %"k.end.4"
k.then.4:
  store i64 %".234", i64* %"i"
  %".238" = load i64, i64* %"i"
  %".239" = load i64, i64* %"i"
  %".240" = getelementptr inbounds i8, ptr %"pixels", i64 %".239"
  %".241" = load i8, ptr %".240", align 1
  %".242" = load i8, i8* %"delta.1"
  %".243" = call i8 @"llvm.uadd.sat.i8"(i8 %".241", i8 %".242")
  %".244" = getelementptr inbounds i8, ptr %"out", i64 %".238"
  store i8 %".243", ptr %".244", align 1
  br label %"k.end.4"
k.end.4:
  %".247" = add i64 %".17", 5
  %".248" = icmp ult i64 %".247", %".10"
  br i1 %".248", label %"k.then.5", label %"k.end.5"
k.then.5:
  store i64 %".247", i64* %"i"
  %".251" = load i64, i64* %"i"
  %".252" = load i64, i64* %"i"
  %".253" = getelementptr inbounds i8, ptr %"pixels", i64 %".252"
  %".254" = load i8, ptr %".253", align 1
  %".255" = load i8, i8* %"delta.1"
  %".256" = call i8 @"llvm.uadd.sat.i8"(i8 %".254", i8 %".255")
  %".257" = getelementptr inbounds i8, ptr %"out", i64 %".251"
  store i8 %".256", ptr %".257", align 1
  br label %"k.end.5"
k.end.5:
  %".260" = add i64 %".17", 6
  %".261" = icmp ult i64 %".260", %".10"
  br i1 %".261", label %"k.then.6", label %"k.end.6"
k.then.6:
  store i64 %".260", i64* %"i"
  %".264" = load i64, i64* %"i"
  %".265" = load i64, i64* %"i"
  %".266" = getelementptr inbounds i8, ptr %"pixels", i64 %".265"
  %".267" = load i8, ptr %".266", align 1
  %".268" = load i8, i8* %"delta.1"
  %".269" = call i8 @"llvm.uadd.sat.i8"(i8 %".267", i8 %".268")
  %".270" = getelementptr inbounds i8, ptr %"out", i64 %".264"
  store i8 %".269", ptr %".270", align 1
  br label %"k.end.6"
k.end.6:
  %".273" = add i64 %".17", 7
  %".274" = icmp ult i64 %".273", %".10"
  br i1 %".274", label %"k.then.7", label %"k.end.7"
k.then.7:
  store i64 %".273", i64* %"i"
  %".277" = load i64, i64* %"i"
  %".278" = load i64, i64* %"i"
  %".279" = getelementptr inbounds i8, ptr %"pixels", i64 %".278"
  %".280" = load i8, ptr %".279", align 1
  %".281" = load i8, i8* %"delta.1"
  %".282" = call i8 @"llvm.uadd.sat.i8"(i8 %".280", i8 %".281")
  %".283" = getelementptr inbounds i8, ptr %"out", i64 %".277"
  store i8 %".282", ptr %".283", align 1
  br label %"k.end.7"
k.end.7:
  %".286" = add i64 %".17", 8
  %".287" = icmp ult i64 %".286", %".10"
  br i1 %".287", label %"k.then.8", label %"k.end.8"
k.then.8:
  store i64 %".286", i64* %"i"
  %".290" = load i64, i64* %"i"
  %".291" = load i64, i64* %"i"
  %".292" = getelementptr inbounds i8, ptr %"pixels", i64 %".291"
  %".293" = load i8, ptr %".292", align 1
  %".294" = load i8, i8* %"delta.1"
  %".295" = call i8 @"llvm.uadd.sat.i8"(i8 %".293", i8 %".294")
  %".296" = getelementptr inbounds i8, ptr %"out", i64 %".290"
  store i8 %".295", ptr %".296", align 1
  br label %"k.end.8"
k.end.8:
  %".299" = add i64 %".17", 9
  %".300" = icmp ult i64 %".299", %".10"
  br i1 %".300", label %"k.then.9", label %"k.end.9"
k.then.9:
  store i64 %".299", i64* %"i"
  %".303" = load i64, i64* %"i"
  %".304" = load i64, i64* %"i"
  %".305" = getelementptr inbounds i8, ptr %"pixels", i64 %".304"
  %".306" = load i8, ptr %".305", align 1
  %".307" = load i8, i8* %"delta.1"
  %".308" = call i8 @"llvm.uadd.sat.i8"(i8 %".306", i8 %".307")
  %".309" = getelementptr inbounds i8, ptr %"out", i64 %".303"
  store i8 %".308", ptr %".309", align 1
  br label %"k.end.9"
k.end.9:
  %".312" = add i64 %".17", 10
  %".313" = icmp ult i64 %".312", %".10"
  br i1 %".313", label %"k.then.10", label %"k.end.10"
k.then.10:
  store i64 %".312", i64* %"i"
  %".316" = load i64, i64* %"i"
  %".317" = load i64, i64* %"i"
  %".318" = getelementptr inbounds i8, ptr %"pixels", i64 %".317"
  %".319" = load i8, ptr %".318", align 1
  %".320" = load i8, i8* %"delta.1"
  %".321" = call i8 @"llvm.uadd.sat.i8"(i8 %".319", i8 %".320")
  %".322" = getelementptr inbounds i8, ptr %"out", i64 %".316"
  store i8 %".321", ptr %".322", align 1
  br label %"k.end.10"
k.end.10:
  %".325" = add i64 %".17", 11
  %".326" = icmp ult i64 %".325", %".10"
  br i1 %".326", label %"k.then.11", label %"k.end.11"
k.then.11:
  store i64 %".325", i64* %"i"
  %".329" = load i64, i64* %"i"
  %".330" = load i64, i64* %"i"
  %".331" = getelementptr inbounds i8, ptr %"pixels", i64 %".330"
  %".332" = load i8, ptr %".331", align 1
  %".333" = load i8, i8* %"delta.1"
  %".334" = call i8 @"llvm.uadd.sat.i8"(i8 %".332", i8 %".333")
  %".335" = getelementptr inbounds i8, ptr %"out", i64 %".329"
  store i8 %".334", ptr %".335", align 1
  br label %"k.end.11"
k.end.11:
  %".338" = add i64 %".17", 12
  %".339" = icmp ult i64 %".338", %".10"
  br i1 %".339", label %"k.then.12", label %"k.end.12"
k.then.12:
  store i64 %".338", i64* %"i"
  %".342" = load i64, i64* %"i"
  %".343" = load i64, i64* %"i"
  %".344" = getelementptr inbounds i8, ptr %"pixels", i64 %".343"
  %".345" = load i8, ptr %".344", align 1
  %".346" = load i8, i8* %"delta.1"
  %".347" = call i8 @"llvm.uadd.sat.i8"(i8 %".345", i8 %".346")
  %".348" = getelementptr inbounds i8, ptr %"out", i64 %".342"
  store i8 %".347", ptr %".348", align 1
  br label %"k.end.12"
k.end.12:
  %".351" = add i64 %".17", 13
  %".352" = icmp ult i64 %".351", %".10"
  br i1 %".352", label %"k.then.13", label %"k.end.13"
k.then.13:
  store i64 %".351", i64* %"i"
  %".355" = load i64, i64* %"i"
  %".356" = load i64, i64* %"i"
  %".357" = getelementptr inbounds i8, ptr %"pixels", i64 %".356"
  %".358" = load i8, ptr %".357", align 1
  %".359" = load i8, i8* %"delta.1"
  %".360" = call i8 @"llvm.uadd.sat.i8"(i8 %".358", i8 %".359")
  %".361" = getelementptr inbounds i8, ptr %"out", i64 %".355"
  store i8 %".360", ptr %".361", align 1
  br label %"k.end.13"
k.end.13:
  %".364" = add i64 %".17", 14
  %".365" = icmp ult i64 %".364", %".10"
  br i1 %".365", label %"k.then.14", label %"k.end.14"
k.then.14:
  store i64 %".364", i64* %"i"
  %".368" = load i64, i64* %"i"
  %".369" = load i64, i64* %"i"
  %".370" = getelementptr inbounds i8, ptr %"pixels", i64 %".369"
  %".371" = load i8, ptr %".370", align 1
  %".372" = load i8, i8* %"delta.1"
  %".373" = call i8 @"llvm.uadd.sat.i8"(i8 %".371", i8 %".372")
  %".374" = getelementptr inbounds i8, ptr %"out", i64 %".368"
  store i8 %".373", ptr %".374", align 1
  br label %"k.end.14"
k.end.14:
  %".377" = add i64 %".17", 15
  %".378" = icmp ult i64 %".377", %".10"
  br i1 %".378", label %"k.then.15", label %"k.end.15"
k.then.15:
  store i64 %".377", i64* %"i"
  %".381" = load i64, i64* %"i"
  %".382" = load i64, i64* %"i"
  %".383" = getelementptr inbounds i8, ptr %"pixels", i64 %".382"
  %".384" = load i8, ptr %".383", align 1
  %".385" = load i8, i8* %"delta.1"
  %".386" = call i8 @"llvm.uadd.sat.i8"(i8 %".384", i8 %".385")
  %".387" = getelementptr inbounds i8, ptr %"out", i64 %".381"
  store i8 %".386", ptr %".387", align 1
  br label %"k.end.15"
k.end.15:
  br label %"k.chunk"
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare i8 @"llvm.uadd.sat.i8"(i8 %".1", i8 %".2")
