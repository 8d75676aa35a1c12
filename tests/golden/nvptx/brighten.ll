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
  %"kk" = alloca i64
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
  %".182" = add i64 %".17", 16
  %".183" = icmp ult i64 %".182", %".10"
  %".184" = select  i1 %".183", i64 %".182", i64 %".10"
  store i64 %".17", i64* %"pos"
  br label %"k.head"
k.chunk:
  ret void
k.head:
  %".187" = load i64, i64* %"pos"
  %".188" = icmp ult i64 %".187", %".184"
  br i1 %".188", label %"k.loop", label %"k.done"
k.loop:
  store i64 %".187", i64* %"i"
  %".191" = load i64, i64* %"i"
  %".192" = load i64, i64* %"i"
  %".193" = getelementptr inbounds i8, ptr %"pixels", i64 %".192"
  %".194" = load i8, ptr %".193", align 1
  %".195" = load i8, i8* %"delta.1"
  %".196" = call i8 @"llvm.uadd.sat.i8"(i8 %".194", i8 %".195")
  %".197" = getelementptr inbounds i8, ptr %"out", i64 %".191"
  store i8 %".196", ptr %".197", align 1
  %".199" = load i64, i64* %"pos"
  %".200" = add i64 %".199", 1
  store i64 %".200", i64* %"pos"
  br label %"k.head"
k.done:
  br label %"k.chunk"
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare i8 @"llvm.uadd.sat.i8"(i8 %".1", i8 %".2")

!nvvm.annotations = !{ !0, !1, !2 }
!0 = !{ void (i64, ptr, i8, ptr)* @"brighten__map", !"maxntidx", i32 256 }
!1 = !{ void (i64, ptr, i8, ptr)* @"brighten__map", !"maxntidy", i32 1 }
!2 = !{ void (i64, ptr, i8, ptr)* @"brighten__map", !"maxntidz", i32 1 }