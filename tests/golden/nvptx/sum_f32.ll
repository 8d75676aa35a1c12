; ModuleID = "sum_f32"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"sum_f32__fold"(i64 %"n", ptr noalias readonly align 16 %"x", ptr %"partials") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca float
  %"i" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".6" = load i64, i64* %"n.1"
  store float              0x0, float* %"s"
  %".8" = load i64, i64* %"n.1"
  store float 0x8000000000000000, float* %"s"
  %".10" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".11" = zext i32 %".10" to i64
  %".12" = mul i64 %".11", 1024
  %".13" = call i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()
  %".14" = zext i32 %".13" to i64
  %".15" = mul i64 %".14", 1024
  store i64 %".12", i64* %"base"
  br label %"k.head"
k.head:
  %".18" = load i64, i64* %"base"
  %".19" = icmp ult i64 %".18", %".8"
  br i1 %".19", label %"k.loop", label %"k.done"
k.loop:
  %".21" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".22" = zext i32 %".21" to i64
  %".23" = mul i64 %".22", 4
  %".24" = add i64 %".18", %".23"
  %".25" = add i64 %".24", 4
  %".26" = icmp ule i64 %".25", %".8"
  br i1 %".26", label %"k.full", label %"k.part"
k.done:
  %".110" = load float, float* %"s"
  %".111" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".112" = zext i32 %".111" to i64
  %".113" = bitcast float %".110" to i32
  %".114" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".113", i32 16, i32 31)
  %".115" = bitcast i32 %".114" to float
  %".116" = fadd float %".110", %".115"
  %".117" = bitcast float %".116" to i32
  %".118" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".117", i32 8, i32 31)
  %".119" = bitcast i32 %".118" to float
  %".120" = fadd float %".116", %".119"
  %".121" = bitcast float %".120" to i32
  %".122" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".121", i32 4, i32 31)
  %".123" = bitcast i32 %".122" to float
  %".124" = fadd float %".120", %".123"
  %".125" = bitcast float %".124" to i32
  %".126" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".125", i32 2, i32 31)
  %".127" = bitcast i32 %".126" to float
  %".128" = fadd float %".124", %".127"
  %".129" = bitcast float %".128" to i32
  %".130" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".129", i32 1, i32 31)
  %".131" = bitcast i32 %".130" to float
  %".132" = fadd float %".128", %".131"
  %".133" = and i64 %".112", 31
  %".134" = lshr i64 %".112", 5
  %".135" = icmp eq i64 %".133", 0
  br i1 %".135", label %"k.then.4", label %"k.end.4"
k.full:
  %".28" = add i64 %".24", 0
  store i64 %".28", i64* %"i"
  %".30" = load float, float* %"s"
  %".31" = load i64, i64* %"i"
  %".32" = getelementptr inbounds float, ptr %"x", i64 %".31"
  %".33" = load float, ptr %".32", align 4
  %".34" = fadd float %".30", %".33"
  store float %".34", float* %"s"
  %".36" = add i64 %".24", 1
  store i64 %".36", i64* %"i"
  %".38" = load float, float* %"s"
  %".39" = load i64, i64* %"i"
  %".40" = getelementptr inbounds float, ptr %"x", i64 %".39"
  %".41" = load float, ptr %".40", align 4
  %".42" = fadd float %".38", %".41"
  store float %".42", float* %"s"
  %".44" = add i64 %".24", 2
  store i64 %".44", i64* %"i"
  %".46" = load float, float* %"s"
  %".47" = load i64, i64* %"i"
  %".48" = getelementptr inbounds float, ptr %"x", i64 %".47"
  %".49" = load float, ptr %".48", align 4
  %".50" = fadd float %".46", %".49"
  store float %".50", float* %"s"
  %".52" = add i64 %".24", 3
  store i64 %".52", i64* %"i"
  %".54" = load float, float* %"s"
  %".55" = load i64, i64* %"i"
  %".56" = getelementptr inbounds float, ptr %"x", i64 %".55"
  %".57" = load float, ptr %".56", align 4
  %".58" = fadd float %".54", %".57"
  store float %".58", float* %"s"
  br label %"k.chunk"
k.part:
  %".61" = add i64 %".24", 0
  %".62" = icmp ult i64 %".61", %".8"
  br i1 %".62", label %"k.then", label %"k.end"
k.chunk:
  %".106" = load i64, i64* %"base"
  %".107" = add i64 %".106", %".15"
  store i64 %".107", i64* %"base"
  br label %"k.head"
k.then:
  store i64 %".61", i64* %"i"
  %".65" = load float, float* %"s"
  %".66" = load i64, i64* %"i"
  %".67" = getelementptr inbounds float, ptr %"x", i64 %".66"
  %".68" = load float, ptr %".67", align 4
  %".69" = fadd float %".65", %".68"
  store float %".69", float* %"s"
  br label %"k.end"
k.end:
  %".72" = add i64 %".24", 1
  %".73" = icmp ult i64 %".72", %".8"
  br i1 %".73", label %"k.then.1", label %"k.end.1"
k.then.1:
  store i64 %".72", i64* %"i"
  %".76" = load float, float* %"s"
  %".77" = load i64, i64* %"i"
  %".78" = getelementptr inbounds float, ptr %"x", i64 %".77"
  %".79" = load float, ptr %".78", align 4
  %".80" = fadd float %".76", %".79"
  store float %".80", float* %"s"
  br label %"k.end.1"
k.end.1:
  %".83" = add i64 %".24", 2
  %".84" = icmp ult i64 %".83", %".8"
  br i1 %".84", label %"k.then.2", label %"k.end.2"
k.then.2:
  store i64 %".83", i64* %"i"
  %".87" = load float, float* %"s"
  %".88" = load i64, i64* %"i"
  %".89" = getelementptr inbounds float, ptr %"x", i64 %".88"
  %".90" = load float, ptr %".89", align 4
  %".91" = fadd float %".87", %".90"
  store float %".91", float* %"s"
  br label %"k.end.2"
k.end.2:
  %".94" = add i64 %".24", 3
  %".95" = icmp ult i64 %".94", %".8"
  br i1 %".95", label %"k.then.3", label %"k.end.3"
k.then.3:
  store i64 %".94", i64* %"i"
  %".98" = load float, float* %"s"
  %".99" = load i64, i64* %"i"
  %".100" = getelementptr inbounds float, ptr %"x", i64 %".99"
  %".101" = load float, ptr %".100", align 4
  %".102" = fadd float %".98", %".101"
  store float %".102", float* %"s"
  br label %"k.end.3"
k.end.3:
  br label %"k.chunk"
k.then.4:
  %".137" = trunc i64 %".134" to i32
  %".138" = getelementptr inbounds [32 x float], [32 x float] addrspace(3)* @"sum_f32__fold.shared5", i32 0, i32 %".137"
  store float %".132", float addrspace(3)* %".138"
  br label %"k.end.4"
k.end.4:
  call void @"llvm.nvvm.barrier0"()
  %".142" = trunc i64 %".133" to i32
  %".143" = getelementptr inbounds [32 x float], [32 x float] addrspace(3)* @"sum_f32__fold.shared5", i32 0, i32 %".142"
  %".144" = load float, float addrspace(3)* %".143"
  %".145" = icmp ult i64 %".133", 8
  %".146" = select  i1 %".145", float %".144", float 0x8000000000000000
  %".147" = bitcast float %".146" to i32
  %".148" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".147", i32 16, i32 31)
  %".149" = bitcast i32 %".148" to float
  %".150" = fadd float %".146", %".149"
  %".151" = bitcast float %".150" to i32
  %".152" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".151", i32 8, i32 31)
  %".153" = bitcast i32 %".152" to float
  %".154" = fadd float %".150", %".153"
  %".155" = bitcast float %".154" to i32
  %".156" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".155", i32 4, i32 31)
  %".157" = bitcast i32 %".156" to float
  %".158" = fadd float %".154", %".157"
  %".159" = bitcast float %".158" to i32
  %".160" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".159", i32 2, i32 31)
  %".161" = bitcast i32 %".160" to float
  %".162" = fadd float %".158", %".161"
  %".163" = bitcast float %".162" to i32
  %".164" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".163", i32 1, i32 31)
  %".165" = bitcast i32 %".164" to float
  %".166" = fadd float %".162", %".165"
  %".167" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".168" = zext i32 %".167" to i64
  %".169" = icmp eq i64 %".168", 0
  br i1 %".169", label %"k.then.5", label %"k.end.5"
k.then.5:
  %".171" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".172" = zext i32 %".171" to i64
  %".173" = getelementptr inbounds float, ptr %"partials", i64 %".172"
  store float %".166", ptr %".173"
  br label %"k.end.5"
k.end.5:
  ret void
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 %".1", i32 %".2", i32 %".3", i32 %".4")

@"sum_f32__fold.shared5" = internal addrspace(3) global [32 x float] undef
declare void @"llvm.nvvm.barrier0"()

define ptx_kernel void @"sum_f32__finish"(i64 %"n", ptr noalias readonly align 16 %"x", ptr %"partials", i32 %"blocks", ptr %"result") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca float
  %"i" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  %".9" = zext i32 %"blocks" to i64
  store float 0x8000000000000000, float* %"s"
  %".11" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".12" = zext i32 %".11" to i64
  store i64 %".12", i64* %"pos"
  br label %"k.head"
k.head:
  %".15" = load i64, i64* %"pos"
  %".16" = icmp ult i64 %".15", %".9"
  br i1 %".16", label %"k.loop", label %"k.done"
k.loop:
  %".18" = load float, float* %"s"
  %".19" = getelementptr inbounds float, ptr %"partials", i64 %".15"
  %".20" = load float, ptr %".19"
  %".21" = fadd float %".18", %".20"
  store float %".21", float* %"s"
  %".23" = load i64, i64* %"pos"
  %".24" = add i64 %".23", 256
  store i64 %".24", i64* %"pos"
  br label %"k.head"
k.done:
  %".27" = load float, float* %"s"
  %".28" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".29" = zext i32 %".28" to i64
  %".30" = bitcast float %".27" to i32
  %".31" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".30", i32 16, i32 31)
  %".32" = bitcast i32 %".31" to float
  %".33" = fadd float %".27", %".32"
  %".34" = bitcast float %".33" to i32
  %".35" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".34", i32 8, i32 31)
  %".36" = bitcast i32 %".35" to float
  %".37" = fadd float %".33", %".36"
  %".38" = bitcast float %".37" to i32
  %".39" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".38", i32 4, i32 31)
  %".40" = bitcast i32 %".39" to float
  %".41" = fadd float %".37", %".40"
  %".42" = bitcast float %".41" to i32
  %".43" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".42", i32 2, i32 31)
  %".44" = bitcast i32 %".43" to float
  %".45" = fadd float %".41", %".44"
  %".46" = bitcast float %".45" to i32
  %".47" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".46", i32 1, i32 31)
  %".48" = bitcast i32 %".47" to float
  %".49" = fadd float %".45", %".48"
  %".50" = and i64 %".29", 31
  %".51" = lshr i64 %".29", 5
  %".52" = icmp eq i64 %".50", 0
  br i1 %".52", label %"k.then", label %"k.end"
k.then:
  %".54" = trunc i64 %".51" to i32
  %".55" = getelementptr inbounds [32 x float], [32 x float] addrspace(3)* @"sum_f32__finish.shared8", i32 0, i32 %".54"
  store float %".49", float addrspace(3)* %".55"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".59" = trunc i64 %".50" to i32
  %".60" = getelementptr inbounds [32 x float], [32 x float] addrspace(3)* @"sum_f32__finish.shared8", i32 0, i32 %".59"
  %".61" = load float, float addrspace(3)* %".60"
  %".62" = icmp ult i64 %".50", 8
  %".63" = select  i1 %".62", float %".61", float 0x8000000000000000
  %".64" = bitcast float %".63" to i32
  %".65" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".64", i32 16, i32 31)
  %".66" = bitcast i32 %".65" to float
  %".67" = fadd float %".63", %".66"
  %".68" = bitcast float %".67" to i32
  %".69" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".68", i32 8, i32 31)
  %".70" = bitcast i32 %".69" to float
  %".71" = fadd float %".67", %".70"
  %".72" = bitcast float %".71" to i32
  %".73" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".72", i32 4, i32 31)
  %".74" = bitcast i32 %".73" to float
  %".75" = fadd float %".71", %".74"
  %".76" = bitcast float %".75" to i32
  %".77" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".76", i32 2, i32 31)
  %".78" = bitcast i32 %".77" to float
  %".79" = fadd float %".75", %".78"
  %".80" = bitcast float %".79" to i32
  %".81" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".80", i32 1, i32 31)
  %".82" = bitcast i32 %".81" to float
  %".83" = fadd float %".79", %".82"
  %".84" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".85" = zext i32 %".84" to i64
  %".86" = icmp eq i64 %".85", 0
  br i1 %".86", label %"k.then.1", label %"k.end.1"
k.then.1:
  store float              0x0, float* %"s"
  %".89" = load float, float* %"s"
  %".90" = fadd float %".89", %".83"
  store float %".90", float* %"s"
  %".92" = load float, float* %"s"
  store float %".92", ptr %"result", align 4
  ret void
k.end.1:
  ret void
}

@"sum_f32__finish.shared8" = internal addrspace(3) global [32 x float] undef