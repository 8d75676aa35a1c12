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
  %".144" = load i32, i32* %"s"
  %".145" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".146" = zext i32 %".145" to i64
  %".147" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".144", i32 16, i32 31)
  %".148" = add i32 %".144", %".147"
  %".149" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".148", i32 8, i32 31)
  %".150" = add i32 %".148", %".149"
  %".151" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".150", i32 4, i32 31)
  %".152" = add i32 %".150", %".151"
  %".153" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".152", i32 2, i32 31)
  %".154" = add i32 %".152", %".153"
  %".155" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".154", i32 1, i32 31)
  %".156" = add i32 %".154", %".155"
  %".157" = and i64 %".146", 31
  %".158" = lshr i64 %".146", 5
  %".159" = icmp eq i64 %".157", 0
  br i1 %".159", label %"k.then.4", label %"k.end.4"
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
  %".79" = add i64 %".26", 0
  %".80" = icmp ult i64 %".79", %".10"
  br i1 %".80", label %"k.then", label %"k.end"
k.chunk:
  %".140" = load i64, i64* %"base"
  %".141" = add i64 %".140", %".17"
  store i64 %".141", i64* %"base"
  br label %"k.head"
k.then:
  store i64 %".79", i64* %"i"
  %".83" = load i32, i32* %"s"
  %".84" = load i64, i64* %"i"
  %".85" = getelementptr inbounds i32, ptr %"a", i64 %".84"
  %".86" = load i32, ptr %".85", align 4
  %".87" = load i64, i64* %"i"
  %".88" = getelementptr inbounds i32, ptr %"b", i64 %".87"
  %".89" = load i32, ptr %".88", align 4
  %".90" = mul i32 %".86", %".89"
  %".91" = add i32 %".83", %".90"
  store i32 %".91", i32* %"s"
  br label %"k.end"
k.end:
  %".94" = add i64 %".26", 1
  %".95" = icmp ult i64 %".94", %".10"
  br i1 %".95", label %"k.then.1", label %"k.end.1"
k.then.1:
  store i64 %".94", i64* %"i"
  %".98" = load i32, i32* %"s"
  %".99" = load i64, i64* %"i"
  %".100" = getelementptr inbounds i32, ptr %"a", i64 %".99"
  %".101" = load i32, ptr %".100", align 4
  %".102" = load i64, i64* %"i"
  %".103" = getelementptr inbounds i32, ptr %"b", i64 %".102"
  %".104" = load i32, ptr %".103", align 4
  %".105" = mul i32 %".101", %".104"
  %".106" = add i32 %".98", %".105"
  store i32 %".106", i32* %"s"
  br label %"k.end.1"
k.end.1:
  %".109" = add i64 %".26", 2
  %".110" = icmp ult i64 %".109", %".10"
  br i1 %".110", label %"k.then.2", label %"k.end.2"
k.then.2:
  store i64 %".109", i64* %"i"
  %".113" = load i32, i32* %"s"
  %".114" = load i64, i64* %"i"
  %".115" = getelementptr inbounds i32, ptr %"a", i64 %".114"
  %".116" = load i32, ptr %".115", align 4
  %".117" = load i64, i64* %"i"
  %".118" = getelementptr inbounds i32, ptr %"b", i64 %".117"
  %".119" = load i32, ptr %".118", align 4
  %".120" = mul i32 %".116", %".119"
  %".121" = add i32 %".113", %".120"
  store i32 %".121", i32* %"s"
  br label %"k.end.2"
k.end.2:
  %".124" = add i64 %".26", 3
  %".125" = icmp ult i64 %".124", %".10"
  br i1 %".125", label %"k.then.3", label %"k.end.3"
k.then.3:
  store i64 %".124", i64* %"i"
  %".128" = load i32, i32* %"s"
  %".129" = load i64, i64* %"i"
  %".130" = getelementptr inbounds i32, ptr %"a", i64 %".129"
  %".131" = load i32, ptr %".130", align 4
  %".132" = load i64, i64* %"i"
  %".133" = getelementptr inbounds i32, ptr %"b", i64 %".132"
  %".134" = load i32, ptr %".133", align 4
  %".135" = mul i32 %".131", %".134"
  %".136" = add i32 %".128", %".135"
  store i32 %".136", i32* %"s"
  br label %"k.end.3"
k.end.3:
  br label %"k.chunk"
k.then.4:
  %".161" = trunc i64 %".158" to i32
  %".162" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"dot_i32__fold.shared5", i32 0, i32 %".161"
  store i32 %".156", i32 addrspace(3)* %".162"
  br label %"k.end.4"
k.end.4:
  call void @"llvm.nvvm.barrier0"()
  %".166" = trunc i64 %".157" to i32
  %".167" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"dot_i32__fold.shared5", i32 0, i32 %".166"
  %".168" = load i32, i32 addrspace(3)* %".167"
  %".169" = icmp ult i64 %".157", 8
  %".170" = select  i1 %".169", i32 %".168", i32 0
  %".171" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".170", i32 16, i32 31)
  %".172" = add i32 %".170", %".171"
  %".173" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".172", i32 8, i32 31)
  %".174" = add i32 %".172", %".173"
  %".175" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".174", i32 4, i32 31)
  %".176" = add i32 %".174", %".175"
  %".177" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".176", i32 2, i32 31)
  %".178" = add i32 %".176", %".177"
  %".179" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".178", i32 1, i32 31)
  %".180" = add i32 %".178", %".179"
  %".181" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".182" = zext i32 %".181" to i64
  %".183" = icmp eq i64 %".182", 0
  br i1 %".183", label %"k.then.5", label %"k.end.5"
k.then.5:
  %".185" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".186" = zext i32 %".185" to i64
  %".187" = getelementptr inbounds i32, ptr %"partials", i64 %".186"
  store i32 %".180", ptr %".187"
  br label %"k.end.5"
k.end.5:
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