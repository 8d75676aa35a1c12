; ModuleID = "dot_i32"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"dot_i32__fold"(i64 %"n", ptr noalias readonly align 16 %"a", ptr noalias readonly align 16 %"b", ptr %"partials") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  %"kk" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".7" = load i64, i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  store i32 0, i32* %"s"
  %".10" = load i64, i64* %"n.1"
  store i32 0, i32* %"s"
  %".12" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".13" = zext i32 %".12" to i64
  %".14" = mul i64 %".13", 1024
  %".15" = call i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()
  %".16" = zext i32 %".15" to i64
  %".17" = mul i64 %".16", 1024
  store i64 %".14", i64* %"base"
  br label %"k.head"
k.head:
  %".20" = load i64, i64* %"base"
  %".21" = icmp ult i64 %".20", %".10"
  br i1 %".21", label %"k.loop", label %"k.done"
k.loop:
  %".23" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".24" = zext i32 %".23" to i64
  %".25" = mul i64 %".24", 4
  %".26" = add i64 %".20", %".25"
  %".27" = add i64 %".26", 4
  %".28" = icmp ule i64 %".27", %".10"
  br i1 %".28", label %"k.full", label %"k.part"
k.done:
  %".107" = load i32, i32* %"s"
  %".108" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".109" = zext i32 %".108" to i64
  %".110" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".107", i32 16, i32 31)
  %".111" = add i32 %".107", %".110"
  %".112" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".111", i32 8, i32 31)
  %".113" = add i32 %".111", %".112"
  %".114" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".113", i32 4, i32 31)
  %".115" = add i32 %".113", %".114"
  %".116" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".115", i32 2, i32 31)
  %".117" = add i32 %".115", %".116"
  %".118" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".117", i32 1, i32 31)
  %".119" = add i32 %".117", %".118"
  %".120" = and i64 %".109", 31
  %".121" = lshr i64 %".109", 5
  %".122" = icmp eq i64 %".120", 0
  br i1 %".122", label %"k.then", label %"k.end"
k.full:
  %".30" = add i64 %".26", 0
  store i64 %".30", i64* %"i"
  %".32" = load i32, i32* %"s"
  %".33" = load i64, i64* %"i"
  %".34" = getelementptr inbounds i32, ptr %"a", i64 %".33"
  %".35" = load i32, ptr %".34", align 4
  %".36" = load i64, i64* %"i"
  %".37" = getelementptr inbounds i32, ptr %"b", i64 %".36"
  %".38" = load i32, ptr %".37", align 4
  %".39" = mul i32 %".35", %".38"
  %".40" = add i32 %".32", %".39"
  store i32 %".40", i32* %"s"
  %".42" = add i64 %".26", 1
  store i64 %".42", i64* %"i"
  %".44" = load i32, i32* %"s"
  %".45" = load i64, i64* %"i"
  %".46" = getelementptr inbounds i32, ptr %"a", i64 %".45"
  %".47" = load i32, ptr %".46", align 4
  %".48" = load i64, i64* %"i"
  %".49" = getelementptr inbounds i32, ptr %"b", i64 %".48"
  %".50" = load i32, ptr %".49", align 4
  %".51" = mul i32 %".47", %".50"
  %".52" = add i32 %".44", %".51"
  store i32 %".52", i32* %"s"
  %".54" = add i64 %".26", 2
  store i64 %".54", i64* %"i"
  %".56" = load i32, i32* %"s"
  %".57" = load i64, i64* %"i"
  %".58" = getelementptr inbounds i32, ptr %"a", i64 %".57"
  %".59" = load i32, ptr %".58", align 4
  %".60" = load i64, i64* %"i"
  %".61" = getelementptr inbounds i32, ptr %"b", i64 %".60"
  %".62" = load i32, ptr %".61", align 4
  %".63" = mul i32 %".59", %".62"
  %".64" = add i32 %".56", %".63"
  store i32 %".64", i32* %"s"
  %".66" = add i64 %".26", 3
  store i64 %".66", i64* %"i"
  %".68" = load i32, i32* %"s"
  %".69" = load i64, i64* %"i"
  %".70" = getelementptr inbounds i32, ptr %"a", i64 %".69"
  %".71" = load i32, ptr %".70", align 4
  %".72" = load i64, i64* %"i"
  %".73" = getelementptr inbounds i32, ptr %"b", i64 %".72"
  %".74" = load i32, ptr %".73", align 4
  %".75" = mul i32 %".71", %".74"
  %".76" = add i32 %".68", %".75"
  store i32 %".76", i32* %"s"
  br label %"k.chunk"
k.part:
  %".79" = add i64 %".26", 4
  %".80" = icmp ult i64 %".79", %".10"
  %".81" = select  i1 %".80", i64 %".79", i64 %".10"
  store i64 %".26", i64* %"pos"
  br label %"k.head.1"
k.chunk:
  %".103" = load i64, i64* %"base"
  %".104" = add i64 %".103", %".17"
  store i64 %".104", i64* %"base"
  br label %"k.head"
k.head.1:
  %".84" = load i64, i64* %"pos"
  %".85" = icmp ult i64 %".84", %".81"
  br i1 %".85", label %"k.loop.1", label %"k.done.1"
k.loop.1:
  store i64 %".84", i64* %"i"
  %".88" = load i32, i32* %"s"
  %".89" = load i64, i64* %"i"
  %".90" = getelementptr inbounds i32, ptr %"a", i64 %".89"
  %".91" = load i32, ptr %".90", align 4
  %".92" = load i64, i64* %"i"
  %".93" = getelementptr inbounds i32, ptr %"b", i64 %".92"
  %".94" = load i32, ptr %".93", align 4
  %".95" = mul i32 %".91", %".94"
  %".96" = add i32 %".88", %".95"
  store i32 %".96", i32* %"s"
  %".98" = load i64, i64* %"pos"
  %".99" = add i64 %".98", 1
  store i64 %".99", i64* %"pos"
  br label %"k.head.1"
k.done.1:
  br label %"k.chunk"
k.then:
  %".124" = trunc i64 %".121" to i32
  %".125" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"dot_i32__fold.shared5", i32 0, i32 %".124"
  store i32 %".119", i32 addrspace(3)* %".125"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".129" = trunc i64 %".120" to i32
  %".130" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"dot_i32__fold.shared5", i32 0, i32 %".129"
  %".131" = load i32, i32 addrspace(3)* %".130"
  %".132" = icmp ult i64 %".120", 8
  %".133" = select  i1 %".132", i32 %".131", i32 0
  %".134" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".133", i32 16, i32 31)
  %".135" = add i32 %".133", %".134"
  %".136" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".135", i32 8, i32 31)
  %".137" = add i32 %".135", %".136"
  %".138" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".137", i32 4, i32 31)
  %".139" = add i32 %".137", %".138"
  %".140" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".139", i32 2, i32 31)
  %".141" = add i32 %".139", %".140"
  %".142" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".141", i32 1, i32 31)
  %".143" = add i32 %".141", %".142"
  %".144" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".145" = zext i32 %".144" to i64
  %".146" = icmp eq i64 %".145", 0
  br i1 %".146", label %"k.then.1", label %"k.end.1"
k.then.1:
  %".148" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".149" = zext i32 %".148" to i64
  %".150" = getelementptr inbounds i32, ptr %"partials", i64 %".149"
  store i32 %".143", ptr %".150"
  br label %"k.end.1"
k.end.1:
  ret void
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 %".1", i32 %".2", i32 %".3", i32 %".4")

@"dot_i32__fold.shared5" = internal addrspace(3) global [32 x i32] undef
declare void @"llvm.nvvm.barrier0"()

define ptx_kernel void @"dot_i32__finish"(i64 %"n", ptr noalias readonly align 16 %"a", ptr noalias readonly align 16 %"b", ptr %"partials", i32 %"blocks", ptr %"result") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  %"kk" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".9" = load i64, i64* %"n.1"
  %".10" = load i64, i64* %"n.1"
  %".11" = zext i32 %"blocks" to i64
  store i32 0, i32* %"s"
  %".13" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".14" = zext i32 %".13" to i64
  store i64 %".14", i64* %"pos"
  br label %"k.head"
k.head:
  %".17" = load i64, i64* %"pos"
  %".18" = icmp ult i64 %".17", %".11"
  br i1 %".18", label %"k.loop", label %"k.done"
k.loop:
  %".20" = load i32, i32* %"s"
  %".21" = getelementptr inbounds i32, ptr %"partials", i64 %".17"
  %".22" = load i32, ptr %".21"
  %".23" = add i32 %".20", %".22"
  store i32 %".23", i32* %"s"
  %".25" = load i64, i64* %"pos"
  %".26" = add i64 %".25", 256
  store i64 %".26", i64* %"pos"
  br label %"k.head"
k.done:
  %".29" = load i32, i32* %"s"
  %".30" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".31" = zext i32 %".30" to i64
  %".32" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".29", i32 16, i32 31)
  %".33" = add i32 %".29", %".32"
  %".34" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".33", i32 8, i32 31)
  %".35" = add i32 %".33", %".34"
  %".36" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".35", i32 4, i32 31)
  %".37" = add i32 %".35", %".36"
  %".38" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".37", i32 2, i32 31)
  %".39" = add i32 %".37", %".38"
  %".40" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".39", i32 1, i32 31)
  %".41" = add i32 %".39", %".40"
  %".42" = and i64 %".31", 31
  %".43" = lshr i64 %".31", 5
  %".44" = icmp eq i64 %".42", 0
  br i1 %".44", label %"k.then", label %"k.end"
k.then:
  %".46" = trunc i64 %".43" to i32
  %".47" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"dot_i32__finish.shared8", i32 0, i32 %".46"
  store i32 %".41", i32 addrspace(3)* %".47"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".51" = trunc i64 %".42" to i32
  %".52" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"dot_i32__finish.shared8", i32 0, i32 %".51"
  %".53" = load i32, i32 addrspace(3)* %".52"
  %".54" = icmp ult i64 %".42", 8
  %".55" = select  i1 %".54", i32 %".53", i32 0
  %".56" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".55", i32 16, i32 31)
  %".57" = add i32 %".55", %".56"
  %".58" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".57", i32 8, i32 31)
  %".59" = add i32 %".57", %".58"
  %".60" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".59", i32 4, i32 31)
  %".61" = add i32 %".59", %".60"
  %".62" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".61", i32 2, i32 31)
  %".63" = add i32 %".61", %".62"
  %".64" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".63", i32 1, i32 31)
  %".65" = add i32 %".63", %".64"
  %".66" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".67" = zext i32 %".66" to i64
  %".68" = icmp eq i64 %".67", 0
  br i1 %".68", label %"k.then.1", label %"k.end.1"
k.then.1:
  store i32 0, i32* %"s"
  %".71" = load i32, i32* %"s"
  %".72" = add i32 %".71", %".65"
  store i32 %".72", i32* %"s"
  %".74" = load i32, i32* %"s"
  store i32 %".74", ptr %"result", align 4
  ret void
k.end.1:
  ret void
}

@"dot_i32__finish.shared8" = internal addrspace(3) global [32 x i32] undef
!nvvm.annotations = !{ !0, !1, !2, !3, !4, !5 }
!0 = !{ void (i64, ptr, ptr, ptr)* @"dot_i32__fold", !"maxntidx", i32 256 }
!1 = !{ void (i64, ptr, ptr, ptr)* @"dot_i32__fold", !"maxntidy", i32 1 }
!2 = !{ void (i64, ptr, ptr, ptr)* @"dot_i32__fold", !"maxntidz", i32 1 }
!3 = !{ void (i64, ptr, ptr, ptr, i32, ptr)* @"dot_i32__finish", !"maxntidx", i32 256 }
!4 = !{ void (i64, ptr, ptr, ptr, i32, ptr)* @"dot_i32__finish", !"maxntidy", i32 1 }
!5 = !{ void (i64, ptr, ptr, ptr, i32, ptr)* @"dot_i32__finish", !"maxntidz", i32 1 }